// chat/jinja/parser.h — turns tokens into a Program (Jinja2 grammar and operator precedence).
#pragma once

#include <string_view>

#include "chat/jinja/ast.h"
#include "chat/jinja/lexer.h"

namespace nuri::chat::jinja {

// Throws JinjaError (TemplateSyntaxError / TemplateAssertionError).
Program parse_template(std::string_view source, const LexOptions& opt);

}  // namespace nuri::chat::jinja
