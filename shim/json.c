/*
 * json.c: recursive-descent JSON parser. Grammar and escapes follow
 * RFC 8259; strings must be valid UTF-8, and "\uXXXX" escapes (surrogate
 * pairs included) are decoded to UTF-8.
 */
#include "json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Deep enough for any config.json; shallow enough that hostile input
 * cannot exhaust the stack. */
#define MAX_DEPTH 128

struct parser
{
  const char *text;
  size_t len;
  size_t pos;
  int depth;
  char *err;
  size_t err_size;
  bool failed;
};

static void fail_at(struct parser *p, size_t offset, const char *fmt, ...) PRINTF(3, 4);

static void fail_at(struct parser *p, size_t offset, const char *fmt, ...)
{
  va_list ap;
  size_t n;

  if (p->failed)
    return;
  p->failed = true;
  va_start(ap, fmt);
  vsnprintf(p->err, p->err_size, fmt, ap);
  va_end(ap);
  n = strlen(p->err);
  snprintf(p->err + n, p->err_size - n, " at byte %zu", offset);
}

static void fail_unexpected(struct parser *p, const char *expected)
{
  if (p->pos >= p->len)
    fail_at(p, p->pos, "unexpected end of input, expected %s", expected);
  else
    {
      unsigned char c = (unsigned char) p->text[p->pos];
      if (c >= 0x20 && c < 0x7f)
        fail_at(p, p->pos, "unexpected '%c', expected %s", c, expected);
      else
        fail_at(p, p->pos, "unexpected byte 0x%02x, expected %s", c, expected);
    }
}

static void skip_space(struct parser *p)
{
  while (p->pos < p->len)
    {
      char c = p->text[p->pos];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
        break;
      p->pos++;
    }
}

static struct json *new_value(enum json_type type, size_t offset)
{
  struct json *v = xcalloc(1, sizeof *v);
  v->type = type;
  v->offset = offset;
  return v;
}

static struct json *parse_value(struct parser *p);

static bool match_literal(struct parser *p, const char *word)
{
  size_t n = strlen(word);
  if (p->len - p->pos >= n && memcmp(p->text + p->pos, word, n) == 0)
    {
      p->pos += n;
      return true;
    }
  return false;
}

static int hex_digit(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Four hex digits after "\u"; -1 if malformed. */
static long read_hex4(struct parser *p)
{
  long v = 0;

  if (p->len - p->pos < 4)
    return -1;
  for (int i = 0; i < 4; i++)
    {
      int d = hex_digit(p->text[p->pos + (size_t) i]);
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
  p->pos += 4;
  return v;
}

static size_t encode_utf8(unsigned long cp, char *out)
{
  if (cp < 0x80)
    {
      out[0] = (char) cp;
      return 1;
    }
  if (cp < 0x800)
    {
      out[0] = (char) (0xc0 | (cp >> 6));
      out[1] = (char) (0x80 | (cp & 0x3f));
      return 2;
    }
  if (cp < 0x10000)
    {
      out[0] = (char) (0xe0 | (cp >> 12));
      out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
      out[2] = (char) (0x80 | (cp & 0x3f));
      return 3;
    }
  out[0] = (char) (0xf0 | (cp >> 18));
  out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
  out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
  out[3] = (char) (0x80 | (cp & 0x3f));
  return 4;
}

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 if invalid:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_sequence_length(const unsigned char *s, size_t avail)
{
  unsigned char c = s[0];
  size_t n;
  unsigned long cp;

  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (avail < n)
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

/* At the opening quote. The decoded string is never longer than its
 * source, so one allocation of the source length suffices. */
static char *parse_string_raw(struct parser *p, size_t *len_out)
{
  size_t start = p->pos;
  size_t end;
  char *out, *o;

  p->pos++;
  /* Find the closing quote first, to size the buffer. */
  end = p->pos;
  while (end < p->len && p->text[end] != '"')
    end += (p->text[end] == '\\') ? 2 : 1;
  if (end >= p->len)
    {
      fail_at(p, start, "unterminated string");
      return NULL;
    }
  out = o = xmalloc(end - p->pos + 1);

  while (p->pos < end)
    {
      unsigned char c = (unsigned char) p->text[p->pos];

      if (c < 0x20)
        {
          fail_at(p, p->pos, "control character 0x%02x in string (must be escaped)", c);
          goto error;
        }
      if (c == '\\')
        {
          size_t esc = p->pos;
          char e = p->text[p->pos + 1];
          p->pos += 2;
          switch (e)
            {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u':
              {
                long hi = read_hex4(p);
                unsigned long cp;
                if (hi < 0)
                  {
                    fail_at(p, esc, "invalid \\u escape (expected four hex digits)");
                    goto error;
                  }
                cp = (unsigned long) hi;
                if (hi >= 0xdc00 && hi <= 0xdfff)
                  {
                    fail_at(p, esc, "unpaired low surrogate \\u%04lx", (unsigned long) hi);
                    goto error;
                  }
                if (hi >= 0xd800 && hi <= 0xdbff)
                  {
                    long lo;
                    if (p->pos + 2 > end || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u')
                      {
                        fail_at(p, esc, "unpaired high surrogate \\u%04lx", (unsigned long) hi);
                        goto error;
                      }
                    p->pos += 2;
                    lo = read_hex4(p);
                    if (lo < 0xdc00 || lo > 0xdfff)
                      {
                        fail_at(p, esc, "high surrogate \\u%04lx not followed by a low surrogate", (unsigned long) hi);
                        goto error;
                      }
                    cp = 0x10000 + (((unsigned long) hi - 0xd800) << 10) + ((unsigned long) lo - 0xdc00);
                  }
                if (cp == 0)
                  {
                    fail_at(p, esc, "\\u0000 is not allowed in strings");
                    goto error;
                  }
                o += encode_utf8(cp, o);
                break;
              }
            default:
              fail_at(p, esc, "invalid escape '\\%c'", e >= 0x20 && e < 0x7f ? e : '?');
              goto error;
            }
          continue;
        }
      if (c >= 0x80)
        {
          size_t n = utf8_sequence_length((const unsigned char *) p->text + p->pos, end - p->pos);
          if (n == 0)
            {
              fail_at(p, p->pos, "invalid UTF-8 in string");
              goto error;
            }
          memcpy(o, p->text + p->pos, n);
          o += n;
          p->pos += n;
          continue;
        }
      *o++ = (char) c;
      p->pos++;
    }
  p->pos = end + 1;
  *o = '\0';
  *len_out = (size_t) (o - out);
  return out;

error:
  free(out);
  return NULL;
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static struct json *parse_number(struct parser *p)
{
  size_t start = p->pos;
  struct json *v;

  if (p->pos < p->len && p->text[p->pos] == '-')
    p->pos++;
  if (p->pos < p->len && p->text[p->pos] == '0')
    p->pos++;
  else if (p->pos < p->len && is_digit(p->text[p->pos]))
    while (p->pos < p->len && is_digit(p->text[p->pos]))
      p->pos++;
  else
    {
      fail_unexpected(p, "a digit");
      return NULL;
    }
  if (p->pos < p->len && p->text[p->pos] == '.')
    {
      p->pos++;
      if (p->pos >= p->len || !is_digit(p->text[p->pos]))
        {
          fail_unexpected(p, "a digit after '.'");
          return NULL;
        }
      while (p->pos < p->len && is_digit(p->text[p->pos]))
        p->pos++;
    }
  if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E'))
    {
      p->pos++;
      if (p->pos < p->len && (p->text[p->pos] == '+' || p->text[p->pos] == '-'))
        p->pos++;
      if (p->pos >= p->len || !is_digit(p->text[p->pos]))
        {
          fail_unexpected(p, "a digit in the exponent");
          return NULL;
        }
      while (p->pos < p->len && is_digit(p->text[p->pos]))
        p->pos++;
    }

  v = new_value(JSON_NUMBER, start);
  v->number.text = xstrndup(p->text + start, p->pos - start);
  v->number.value = strtod(v->number.text, NULL);
  return v;
}

static struct json *parse_array(struct parser *p)
{
  struct json *v = new_value(JSON_ARRAY, p->pos);
  size_t cap = 0;

  p->pos++;
  skip_space(p);
  if (p->pos < p->len && p->text[p->pos] == ']')
    {
      p->pos++;
      return v;
    }
  for (;;)
    {
      struct json *item = parse_value(p);
      if (item == NULL)
        goto error;
      if (v->array.len == cap)
        {
          cap = cap ? cap * 2 : 4;
          v->array.items = xrealloc(v->array.items, cap * sizeof *v->array.items);
        }
      v->array.items[v->array.len++] = item;
      skip_space(p);
      if (p->pos < p->len && p->text[p->pos] == ',')
        {
          p->pos++;
          continue;
        }
      if (p->pos < p->len && p->text[p->pos] == ']')
        {
          p->pos++;
          return v;
        }
      fail_unexpected(p, "',' or ']' in array");
      goto error;
    }

error:
  json_free(v);
  return NULL;
}

static struct json *parse_object(struct parser *p)
{
  struct json *v = new_value(JSON_OBJECT, p->pos);
  size_t cap = 0;

  p->pos++;
  skip_space(p);
  if (p->pos < p->len && p->text[p->pos] == '}')
    {
      p->pos++;
      return v;
    }
  for (;;)
    {
      char *key;
      size_t key_len;
      struct json *value;

      skip_space(p);
      if (p->pos >= p->len || p->text[p->pos] != '"')
        {
          fail_unexpected(p, "a string as object key");
          goto error;
        }
      key = parse_string_raw(p, &key_len);
      if (key == NULL)
        goto error;
      skip_space(p);
      if (p->pos >= p->len || p->text[p->pos] != ':')
        {
          free(key);
          fail_unexpected(p, "':' after object key");
          goto error;
        }
      p->pos++;
      value = parse_value(p);
      if (value == NULL)
        {
          free(key);
          goto error;
        }
      if (v->object.len == cap)
        {
          cap = cap ? cap * 2 : 4;
          v->object.members = xrealloc(v->object.members, cap * sizeof *v->object.members);
        }
      v->object.members[v->object.len].key = key;
      v->object.members[v->object.len].value = value;
      v->object.len++;
      skip_space(p);
      if (p->pos < p->len && p->text[p->pos] == ',')
        {
          p->pos++;
          continue;
        }
      if (p->pos < p->len && p->text[p->pos] == '}')
        {
          p->pos++;
          return v;
        }
      fail_unexpected(p, "',' or '}' in object");
      goto error;
    }

error:
  json_free(v);
  return NULL;
}

static struct json *parse_value(struct parser *p)
{
  struct json *v = NULL;
  size_t start;

  skip_space(p);
  start = p->pos;
  if (p->pos >= p->len)
    {
      fail_unexpected(p, "a value");
      return NULL;
    }
  if (++p->depth > MAX_DEPTH)
    {
      fail_at(p, start, "nesting deeper than %d levels", MAX_DEPTH);
      return NULL;
    }

  switch (p->text[p->pos])
    {
    case '{':
      v = parse_object(p);
      break;
    case '[':
      v = parse_array(p);
      break;
    case '"':
      {
        size_t len;
        char *s = parse_string_raw(p, &len);
        if (s)
          {
            v = new_value(JSON_STRING, start);
            v->string.value = s;
            v->string.len = len;
          }
        break;
      }
    case 't':
    case 'f':
    case 'n':
      if (match_literal(p, "true") || match_literal(p, "false"))
        {
          v = new_value(JSON_BOOL, start);
          v->boolean = p->text[start] == 't';
        }
      else if (match_literal(p, "null"))
        v = new_value(JSON_NULL, start);
      else
        fail_at(p, start, "invalid literal (expected true, false or null)");
      break;
    default:
      if (p->text[p->pos] == '-' || is_digit(p->text[p->pos]))
        v = parse_number(p);
      else
        fail_unexpected(p, "a value");
    }
  p->depth--;
  return v;
}

struct json *json_parse(const char *text, size_t len, char *err, size_t err_size)
{
  struct parser p = { .text = text, .len = len, .err = err, .err_size = err_size };
  struct json *v;

  if (err_size > 0)
    err[0] = '\0';
  v = parse_value(&p);
  if (v == NULL)
    return NULL;
  skip_space(&p);
  if (p.pos != p.len)
    {
      fail_unexpected(&p, "end of input after the document");
      json_free(v);
      return NULL;
    }
  return v;
}

void json_free(struct json *v)
{
  if (v == NULL)
    return;
  switch (v->type)
    {
    case JSON_NUMBER:
      free(v->number.text);
      break;
    case JSON_STRING:
      free(v->string.value);
      break;
    case JSON_ARRAY:
      for (size_t i = 0; i < v->array.len; i++)
        json_free(v->array.items[i]);
      free(v->array.items);
      break;
    case JSON_OBJECT:
      for (size_t i = 0; i < v->object.len; i++)
        {
          free(v->object.members[i].key);
          json_free(v->object.members[i].value);
        }
      free(v->object.members);
      break;
    default:
      break;
    }
  free(v);
}

struct json *json_get(const struct json *object, const char *key)
{
  if (object == NULL || object->type != JSON_OBJECT)
    return NULL;
  for (size_t i = object->object.len; i-- > 0;)
    if (strcmp(object->object.members[i].key, key) == 0)
      return object->object.members[i].value;
  return NULL;
}

const char *json_type_name(enum json_type type)
{
  switch (type)
    {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    case JSON_OBJECT: return "an object";
    }
  return "?";
}

bool json_to_u64(const struct json *value, uint64_t *out)
{
  const char *t;
  char *end;
  unsigned long long n;

  if (value == NULL || value->type != JSON_NUMBER)
    return false;
  t = value->number.text;
  if (*t == '-' || strpbrk(t, ".eE"))
    return false;
  errno = 0;
  n = strtoull(t, &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  *out = n;
  return true;
}
