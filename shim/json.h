/*
 * json.h: a small recursive-descent JSON parser (RFC 8259) building a DOM.
 *
 * The shim reads one document, config.json, written by ctr; it parses the
 * whole of it strictly so that a truncated or corrupt bundle is reported
 * with a byte offset instead of running a half-configured container.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_type
{
  JSON_NULL,
  JSON_BOOL,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT,
};

struct json_member;

struct json
{
  enum json_type type;
  size_t offset; /* of the value's first byte, for error messages */
  union
  {
    bool boolean;
    struct
    {
      double value;
      char *text; /* the literal, so integers up to 2^64-1 stay exact */
    } number;
    struct
    {
      char *value; /* UTF-8, NUL-terminated; JSON "\u0000" is rejected */
      size_t len;
    } string;
    struct
    {
      struct json **items;
      size_t len;
    } array;
    struct
    {
      struct json_member *members;
      size_t len;
    } object;
  };
};

struct json_member
{
  char *key;
  struct json *value;
};

/* Parse text[0..len). On failure returns NULL and writes a message naming
 * the byte offset ("expected ':' after object key at byte 17") to err. */
struct json *json_parse(const char *text, size_t len, char *err, size_t err_size);
void json_free(struct json *value);

/* The value of key in an object (the last one if repeated, as JavaScript
 * does); NULL when value is not an object or has no such key. */
struct json *json_get(const struct json *object, const char *key);

const char *json_type_name(enum json_type type);

/* The number as an unsigned integer: false if it is negative, fractional,
 * in exponent form or above UINT64_MAX. */
bool json_to_u64(const struct json *value, uint64_t *out);
