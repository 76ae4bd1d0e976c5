/* Config: parsing, defaults, every kind of validation error, resolved text round trip, sha256. */
#include <stdlib.h>
#include <string.h>

#include "slingshot/config.h"
#include "test_util.h"

static const char *GRID = "grid = { n_params = [1000.0, 4000.0]; d_tokens = { from = 1e4; to = "
                          "1e6; count = 3; }; };\n";

static int parse(const char *extra, sl_config *cfg) {
  char text[4096];
  snprintf(text, sizeof text, "%s%s", GRID, extra);
  sl_error_clear();
  return sl_config_parse(text, "test.cfg", cfg);
}

static void test_defaults_and_axes(void) {
  sl_config c;
  SL_ASSERT_OK(parse("", &c));
  CU_ASSERT_EQUAL(c.language.M, 16);
  CU_ASSERT_STRING_EQUAL(c.model.family, "mlp");
  CU_ASSERT_EQUAL(c.grid.n_params.n, 2);
  CU_ASSERT_EQUAL(c.grid.d_tokens.n, 3);
  CU_ASSERT_DOUBLE_EQUAL(c.grid.d_tokens.v[0], 1e4, 0);
  CU_ASSERT_DOUBLE_EQUAL(c.grid.d_tokens.v[1], 1e5, 0); /* log-spaced */
  CU_ASSERT_DOUBLE_EQUAL(c.grid.d_tokens.v[2], 1e6, 0);
  CU_ASSERT_EQUAL(c.language.n_arity, c.language.k_max); /* default weights: all 1 */
  CU_ASSERT_EQUAL(c.grid.n_seeds, 1);
  CU_ASSERT_STRING_EQUAL(c.grid.variants[0], "base");
}

static void expect_error(const char *extra, const char *needle) {
  sl_config c;
  int err = parse(extra, &c);
  CU_ASSERT_EQUAL(err, SL_ERR_CONFIG);
  const char *msg = sl_error_message();
  if (!strstr(msg, needle)) fprintf(stderr, "\nexpected '%s' in: %s\n", needle, msg);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, needle));
}

static void test_unknown_key_suggests_nearest(void) {
  expect_error("model = { widht = 8; };",
               "unknown key 'model.widht' (did you mean 'model.width'?)");
  expect_error("trian = { lr = 1e-3; };", "did you mean 'train'");
  expect_error("lr = 1e-3;", "did you mean 'train.lr'");
}

static void test_wrong_type(void) {
  expect_error("model = { family = 3; };", "model.family has the wrong type");
  expect_error("train = { lr = \"fast\"; };", "train.lr has the wrong type");
}

static void test_out_of_range(void) {
  expect_error("language = { M = 1; };", "language.M = 1 is out of range: allowed 2 to 65536");
  expect_error("train = { batch = 0; };", "train.batch = 0 is out of range");
  expect_error("model = { family = \"rnn\"; };", "choose one of mlp|gpt");
  sl_config c;
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse("grid = { n_params = [10.0]; d_tokens = [1e4]; };", "t", &c),
                  SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "grid.n_params[0] = 10 is out of range"));
}

static void test_missing_and_empty(void) {
  sl_config c;
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse("grid = { n_params = [1000.0]; };", "t", &c), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "missing required key 'grid.d_tokens'"));
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse("grid = { n_params = []; d_tokens = [1e4]; };", "t", &c),
                  SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "an empty grid has no cells"));
}

static void test_all_problems_at_once(void) {
  sl_config c;
  int err = parse("model = { widht = 8; };\nlanguage = { M = 1; zipf = -1.0; };", &c);
  CU_ASSERT_EQUAL(err, SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "3 problems"));
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "test.cfg:2:"));
}

static void test_syntax_error_has_line(void) {
  sl_config c;
  sl_error_clear();
  CU_ASSERT_EQUAL(sl_config_parse("name = \"x\";\nseed = ;\n", "bad.cfg", &c), SL_ERR_CONFIG);
  CU_ASSERT_PTR_NOT_NULL(strstr(sl_error_message(), "bad.cfg:2: syntax error"));
}

static void test_cross_key_rules(void) {
  expect_error("language = { k_max = 3; arity_weights = [1.0, 1.0]; };",
               "arity_weights has 2 weights but language.k_max = 3");
  expect_error("language = { S = 2; k_max = 3; };", "language.S = 2 is smaller than");
  expect_error("train = { lr = 1e-3; min_lr = 1e-2; };", "train.min_lr");
}

static void test_resolved_text_round_trip(void) {
  sl_config a, b;
  SL_ASSERT_OK(parse("train = { lr = 0.01; }; language = { zipf = 1.5; };", &a));
  char *text = NULL;
  SL_ASSERT_OK(sl_config_to_text(&a, &text));
  SL_ASSERT_OK(sl_config_parse(text, "resolved", &b));
  char diff[1024];
  sl_config_diff(&a, &b, diff, sizeof diff);
  CU_ASSERT_STRING_EQUAL(diff, "");
  char *text2 = NULL;
  snprintf(b.origin, sizeof b.origin, "%s", a.origin);
  SL_ASSERT_OK(sl_config_to_text(&b, &text2));
  CU_ASSERT_STRING_EQUAL(text, text2); /* the resolved text is a fixed point */
  b.train.lr = 0.02;
  sl_config_diff(&a, &b, diff, sizeof diff);
  CU_ASSERT_PTR_NOT_NULL(strstr(diff, "train.lr: 0.01"));
  free(text);
  free(text2);
}

static void test_builtin_experiments_parse(void) {
  const char *names[] = {"default", "smoke", "gpt", "mlp"};
  for (int i = 0; i < 4; i++) {
    const char *text = sl_config_embedded(names[i]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    sl_config c;
    sl_error_clear();
    SL_ASSERT_OK(sl_config_parse(text, names[i], &c));
    CU_ASSERT_STRING_EQUAL(c.name, names[i]);
  }
  CU_ASSERT_PTR_NULL(sl_config_embedded("no-such-experiment"));
}

static void test_sha256_vectors(void) {
  char out[65];
  sl_sha256_hex("abc", 3, out);
  CU_ASSERT_STRING_EQUAL(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  sl_sha256_hex("", 0, out);
  CU_ASSERT_STRING_EQUAL(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
  sl_sha256_hex(two, strlen(two), out);
  CU_ASSERT_STRING_EQUAL(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Variants: each is the base config with its own model/train keys; validated like the base. */
static const char *VGRID = "grid = { n_params = [1000.0]; d_tokens = [1e4]; variants = %s; };\n%s";

static int parse_variants(const char *variants, const char *defs, sl_config *cfg) {
  char text[4096];
  snprintf(text, sizeof text, VGRID, variants, defs);
  sl_error_clear();
  return sl_config_parse(text, "test.cfg", cfg);
}

static void expect_variant_error(const char *variants, const char *defs, const char *needle) {
  sl_config c;
  CU_ASSERT_EQUAL(parse_variants(variants, defs, &c), SL_ERR_CONFIG);
  const char *msg = sl_error_message();
  if (!strstr(msg, needle)) fprintf(stderr, "\nexpected '%s' in: %s\n", needle, msg);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, needle));
}

static void test_variants(void) {
  sl_config c, v;
  SL_ASSERT_OK(
      parse_variants("[\"base\", \"sgd\", \"big-batch\"]",
                     "train = { lr = 0.01; };\n"
                     "variant = { sgd = { train = { optimizer = \"sgd\"; lr = 0.1; }; };\n"
                     "  big-batch = { train = { batch = 512; }; model = { width = 32; }; }; };",
                     &c));
  CU_ASSERT_EQUAL(c.grid.n_variants, 3);
  SL_ASSERT_OK(sl_config_variant(&c, 0, &v));
  CU_ASSERT_STRING_EQUAL(v.train.optimizer, "adamw");
  CU_ASSERT_DOUBLE_EQUAL(v.train.lr, 0.01, 0);
  SL_ASSERT_OK(sl_config_variant(&c, 1, &v));
  CU_ASSERT_STRING_EQUAL(v.train.optimizer, "sgd");
  CU_ASSERT_DOUBLE_EQUAL(v.train.lr, 0.1, 0);
  CU_ASSERT_EQUAL(v.train.batch, c.train.batch); /* untouched keys come from the base */
  SL_ASSERT_OK(sl_config_variant(&c, 2, &v));
  CU_ASSERT_EQUAL(v.train.batch, 512);
  CU_ASSERT_EQUAL(v.model.width, 32);
  CU_ASSERT_STRING_EQUAL(v.train.optimizer, "adamw");
  CU_ASSERT_NOT_EQUAL(sl_config_variant(&c, 3, &v), SL_OK);
  sl_error_clear();

  /* The resolved text keeps the variants, and reads back to the same variants. */
  char *text = NULL;
  SL_ASSERT_OK(sl_config_to_text(&c, &text));
  sl_config b;
  SL_ASSERT_OK(sl_config_parse(text, "resolved", &b));
  char diff[1024];
  sl_config_diff(&c, &b, diff, sizeof diff);
  CU_ASSERT_STRING_EQUAL(diff, "");
  SL_ASSERT_OK(sl_config_variant(&b, 1, &v));
  CU_ASSERT_STRING_EQUAL(v.train.optimizer, "sgd");
  free(text);
  /* A changed variant is a difference --resume must see. */
  snprintf(b.grid.variant_text[1], sizeof b.grid.variant_text[1], "train = { lr = 0.2; };");
  sl_config_diff(&c, &b, diff, sizeof diff);
  CU_ASSERT_PTR_NOT_NULL(strstr(diff, "variant.sgd"));

  expect_variant_error("[\"base\", \"sgd\"]", "",
                       "grid.variants lists \"sgd\" but nothing defines it");
  expect_variant_error("[\"base\"]", "variant = { sgd = { train = { lr = 0.1; }; }; };",
                       "variant.sgd is defined but grid.variants does not list it");
  expect_variant_error("[\"v\"]", "variant = { v = { language = { M = 4; }; }; };",
                       "variant.v cannot change 'language'");
  expect_variant_error("[\"v\"]", "variant = { v = { eval = { points = 4; }; }; };",
                       "variant.v cannot change 'eval'");
  expect_variant_error("[\"v\"]", "variant = { v = { train = { lr = 99.0; }; }; };",
                       "train.lr = 99 is out of range");
  expect_variant_error("[\"v\"]", "variant = { v = { train = { lrr = 0.1; }; }; };",
                       "unknown key 'train.lrr' (did you mean 'train.lr'?)");
  expect_variant_error("[\"v\"]", "variant = { v = { train = { min_lr = 0.5; }; }; };",
                       "train.min_lr = 0.5 is larger than train.lr");
  expect_variant_error("[\"base\", \"base\"]", "", "grid.variants lists \"base\" twice");
  expect_variant_error("[\"9x\"]", "", "not a valid variant name");
}

static void test_edit_distance(void) {
  CU_ASSERT_EQUAL(sl_edit_distance("width", "widht"), 2);
  CU_ASSERT_EQUAL(sl_edit_distance("", "abc"), 3);
  CU_ASSERT_EQUAL(sl_edit_distance("same", "same"), 0);
}

int main(int argc, char **argv) {
  static const sl_test tests[] = {
      {"defaults and axes", test_defaults_and_axes},
      {"unknown key suggests nearest", test_unknown_key_suggests_nearest},
      {"wrong type", test_wrong_type},
      {"out of range", test_out_of_range},
      {"missing and empty", test_missing_and_empty},
      {"all problems at once", test_all_problems_at_once},
      {"syntax error has line", test_syntax_error_has_line},
      {"cross-key rules", test_cross_key_rules},
      {"resolved text round trip", test_resolved_text_round_trip},
      {"built-in experiments parse", test_builtin_experiments_parse},
      {"sha256 vectors", test_sha256_vectors},
      {"edit distance", test_edit_distance},
      {"variants", test_variants},
      {NULL, NULL}};
  return sl_test_main(argc, argv, "config", tests);
}
