// chat/jinja/jinja.cc — public entry points of the Jinja engine; converts internal errors to Status.
#include "chat/jinja/jinja.h"

#include <algorithm>
#include <cstdio>

#include "chat/jinja/interpreter.h"
#include "chat/jinja/parser.h"

namespace nuri::chat::jinja {

Result<Template> Template::parse(std::string_view source) {
  try {
    LexOptions opt;
    auto program = std::make_shared<Program>(parse_template(source, opt));
    Template t;
    t.program_ = std::move(program);
    return t;
  } catch (const JinjaError& e) {
    return Error("template: " + e.what());
  } catch (const std::exception& e) {
    return Error(std::string("template: internal error: ") + e.what());
  }
}

Result<std::string> Template::render(const nlohmann::ordered_json& context, const RenderOptions& opt) const {
  if (!program_) return Error("template: not parsed");
  std::tm now{};
  if (opt.now) {
    now = *opt.now;
  } else {
    std::time_t t = std::time(nullptr);
    localtime_r(&t, &now);
  }
  try {
    Limits limits;
    if (opt.max_steps > 0) limits.max_steps = std::min(limits.max_steps, opt.max_steps);
    if (opt.max_output > 0) limits.max_output = std::min(limits.max_output, opt.max_output);
    Interp interp(*program_, now, limits);
    return interp.render(from_json(context));
  } catch (const JinjaError& e) {
    return Error("template: " + e.what());
  } catch (const std::bad_alloc&) {
    return Error("template: out of memory while rendering");
  } catch (const std::exception& e) {
    return Error(std::string("template: internal error: ") + e.what());
  }
}

std::optional<std::tm> parse_time(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  std::string str(s);
  char sep = 0;
  int n = std::sscanf(str.c_str(), "%d-%d-%d%c%d:%d:%d", &y, &mo, &d, &sep, &h, &mi, &sec);
  if (n != 3 && n != 7) return std::nullopt;
  if (n == 7 && sep != ' ' && sep != 'T') return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  tm.tm_isdst = 0;
  // Fill in the weekday and day of the year (timegm normalises in UTC, no time zone involved).
  std::tm copy = tm;
  std::time_t t = timegm(&copy);
  std::tm out{};
  gmtime_r(&t, &out);
  return out;
}

}  // namespace nuri::chat::jinja
