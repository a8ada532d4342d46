// grammar/json_schema.h — JSON Schema -> GBNF for structured output.
// Purpose: turn a JSON Schema into a GBNF grammar (for Grammar::parse) whose sentences are
//   compact JSON texts (at most one space between tokens) that validate against the schema.
//   Supported: type (object, array, string, number, integer, boolean, null, and type arrays),
//   properties, required, additionalProperties (bool or schema), enum, const, items,
//   prefixItems, minItems/maxItems, minLength/maxLength, pattern (anchored regex subset: literals,
//   ., [...] classes with ranges/negation, \d \w \s, groups, (?:...), |, * + ? {m,n}), format
//   (date, time, date-time, uuid), minimum/maximum/exclusiveMinimum/exclusiveMaximum for
//   integers, $ref (#, #/$defs/..., #/definitions/...), $defs/definitions, anyOf, oneOf (branches
//   should be disjoint: the grammar does not enforce exclusivity), allOf (of object schemas).
//   Annotations (title, description, default, examples, $schema, $id, $comment, readOnly,
//   writeOnly, deprecated) are ignored.
// Non-goals: every JSON Schema keyword; anything else is an error naming the keyword and where.
// Invariants: object properties come in the schema's order, required ones always present;
//   numbers have at most 16 integer and 16 fraction digits; never aborts on bad input.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace nuri::grammar {

// Schema text (JSON) -> GBNF text with a `root` rule.
Result<std::string> json_schema_to_gbnf(std::string_view schema_json);

// For a string schema with `format` or `pattern`: GBNF whose root matches the string's
// characters as XML-style tool-call syntaxes write them — raw (no quotes, no JSON escapes) and
// never '<' (which would start markup). Lengths are not applied here. Error for other schemas.
Result<std::string> json_schema_raw_string_gbnf(std::string_view schema_json);

}  // namespace nuri::grammar
