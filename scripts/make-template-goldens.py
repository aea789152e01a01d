#!/usr/bin/env python3
"""Writes the golden files that Tests/HearthTemplateTests checks HearthTemplate against.

Everything expected by those tests is computed here by Python's jinja2 (3.1.6), never by hand:

  Golden/<model>.template.jinja  the chat template of each test model, byte for byte
  Golden/cases.json              conversations rendered with those templates
  Golden/semantics.json          small templates exercising one Jinja feature each
  Golden/syntax-errors.json      malformed templates and the line jinja2 reports

The environment is the one Hugging Face transformers builds for `apply_chat_template`
(transformers/utils/chat_template_utils.py): an ImmutableSandboxedEnvironment with
trim_blocks=True, lstrip_blocks=True, the loopcontrols extension, `raise_exception` and
`strftime_now` globals, and a `tojson` filter replaced by plain json.dumps (ensure_ascii=False,
keys unsorted, no HTML escaping). Some cases use other environments (jinja2's defaults, jinja2's
own HTML-safe `tojson`); each case records the environment it was rendered with.

The chat templates come from the GGUF metadata key `tokenizer.chat_template`, read by the small
GGUF reader below (no `gguf` package needed). The Gemma 3 270M GGUF in Hearth's cache is the
base (pretrained) model and carries no chat template; for it the script uses the chat template
that Google publishes with the instruction-tuned Gemma 3 models (tokenizer_config.json of
google/gemma-3-270m-it), kept below as data.

usage: python3 scripts/make-template-goldens.py [--models DIR] [--out DIR]
  --models  folder with the GGUF files (default: $HEARTH_MODEL_CACHE or ~/.cache/hearth/models);
            fetch them with scripts/fetch-models.sh all
  --out     where to write (default: Tests/HearthTemplateTests/Golden beside this script's repo)
"""

import argparse
import datetime
import json
import os
import struct
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

JINJA2_VERSION = "3.1.6"

# ---------------------------------------------------------------------------------------------
# GGUF metadata (v2/v3): magic, u32 version, u64 tensor count, u64 key/value count, then pairs.

_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_gguf_metadata(path, wanted):
    """Returns {key: value} for the keys in `wanted`; token arrays are read only when wanted."""
    out = {}
    with open(path, "rb") as f:
        def rd(fmt):
            size = struct.calcsize("<" + fmt)
            return struct.unpack("<" + fmt, f.read(size))[0]

        def value(kind, keep):
            if kind in _SCALARS:
                return rd(_SCALARS[kind])
            if kind == 8:
                n = rd("Q")
                raw = f.read(n)
                return raw.decode("utf-8") if keep else None
            if kind == 9:
                elem, n = rd("I"), rd("Q")
                if not keep and elem in _SCALARS:
                    f.seek(n * struct.calcsize("<" + _SCALARS[elem]), 1)
                    return None
                items = [value(elem, keep) for _ in range(n)]
                return items if keep else None
            raise ValueError(f"{path}: unknown GGUF value type {kind}")

        if f.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version = rd("I")
        if version < 2:
            raise ValueError(f"{path}: GGUF version {version} is not supported")
        rd("Q")  # tensor count
        for _ in range(rd("Q")):
            key = f.read(rd("Q")).decode("utf-8")
            kind = rd("I")
            v = value(kind, key in wanted)
            if key in wanted:
                out[key] = v
    return out


# The chat template of google/gemma-3-*-it (tokenizer_config.json), JSON-escaped as published.
GEMMA3_IT_TEMPLATE_JSON = (
    "\"{{ bos_token }}\\n{%- if messages[0]['role'] == 'system' -%}\\n    {%- if messages[0]['content'] is string -%}\\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\\n    {%- else -%}\\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\\n    {%- endif -%}\\n"
    "    {%- set loop_messages = messages[1:] -%}\\n{%- else -%}\\n    {%- set first_user_prefix = \\\"\\\" -%}\\n"
    "    {%- set loop_messages = messages -%}\\n{%- endif -%}\\n{%- for message in loop_messages -%}\\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\\n"
    "        {{ raise_exception(\\\"Conversation roles must alternate user/assistant/user/assistant/...\\\") }}\\n"
    "    {%- endif -%}\\n    {%- if (message['role'] == 'assistant') -%}\\n        {%- set role = \\\"model\\\" -%}\\n"
    "    {%- else -%}\\n        {%- set role = message['role'] -%}\\n    {%- endif -%}\\n"
    "    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \\\"\\\") }}\\n"
    "    {%- if message['content'] is string -%}\\n        {{ message['content'] | trim }}\\n"
    "    {%- elif message['content'] is iterable -%}\\n        {%- for item in message['content'] -%}\\n"
    "            {%- if item['type'] == 'image' -%}\\n                {{ '<start_of_image>' }}\\n"
    "            {%- elif item['type'] == 'text' -%}\\n                {{ item['text'] | trim }}\\n"
    "            {%- endif -%}\\n        {%- endfor -%}\\n    {%- else -%}\\n"
    "        {{ raise_exception(\\\"Invalid content type\\\") }}\\n    {%- endif -%}\\n"
    "    {{ '<end_of_turn>\\n' }}\\n{%- endfor -%}\\n{%- if add_generation_prompt -%}\\n"
    "    {{'<start_of_turn>model\\n'}}\\n{%- endif -%}\\n\""
)

MODELS = [
    # (short name, GGUF file, fallback template when the GGUF has none)
    ("smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", None),
    ("qwen2.5-coder", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", None),
    ("gemma3", "gemma-3-270m-q4_k_m.gguf", json.loads(GEMMA3_IT_TEMPLATE_JSON)),
]

# ---------------------------------------------------------------------------------------------
# Environments

FIXED_NOW = datetime.datetime(2025, 3, 14, 9, 26, 53)  # what strftime_now sees in these goldens


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def hf_tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' replacement for jinja2's tojson
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


class GenerationTag(jinja2.ext.Extension):
    """`{% generation %}...{% endgeneration %}` as transformers' AssistantTracker renders it when no
    assistant mask is requested: the body, as the body of a call block."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render_body"), [], [], body).set_lineno(lineno)

    def _render_body(self, caller):
        return caller()


def make_env(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, tojson="huggingface"):
    env = ImmutableSandboxedEnvironment(
        trim_blocks=trim_blocks,
        lstrip_blocks=lstrip_blocks,
        keep_trailing_newline=keep_trailing_newline,
        extensions=[jinja2.ext.loopcontrols, GenerationTag],
    )
    if tojson == "huggingface":
        env.filters["tojson"] = hf_tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: FIXED_NOW.strftime(fmt)
    return env


HF_ENV = {"trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": False, "tojson": "huggingface"}
JINJA_DEFAULT_ENV = {"trim_blocks": False, "lstrip_blocks": False, "keep_trailing_newline": False, "tojson": "jinja2"}


def render(source, context, env_spec):
    """Returns ("ok", text) or ("error", "ExceptionClass: message")."""
    env = make_env(**env_spec)
    try:
        return "ok", env.from_string(source).render(**context)
    except Exception as exc:  # every failure is a case too
        return "error", f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------
# Conversations for the model templates

SYSTEM = {"role": "system", "content": "You are a concise assistant. Answer in one sentence."}
USER1 = {"role": "user", "content": "What is the capital of France?"}
ASSIST1 = {"role": "assistant", "content": "The capital of France is Paris."}
USER2 = {"role": "user", "content": "And of Italy?"}
UNICODE_USER = {
    "role": "user",
    "content": "Grüße aus Köln! 你好，世界 👋🏽 — café\u0301\n\nLine two\twith a tab\r\nand CRLF.  ",
}
JINJA_LOOKING = {
    "role": "user",
    "content": "Literal template text: {{ x }} {% if y %}z{% endif %} {# not a comment #} {{- raw -}}",
}
PADDED_USER = {"role": "user", "content": "\n\n   padded question?   \n"}

WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city. Units: \"metric\" or 'imperial' <default metric> & more.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Zürich or 東京"},
                    "units": {"type": "string", "enum": ["metric", "imperial"]},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert",
            "description": "Convert an amount between currencies.",
            "parameters": {
                "type": "object",
                "properties": {
                    "amount": {"type": "number"},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                    "exact": {"type": "boolean", "default": False},
                    "note": {"type": ["string", "null"], "default": None},
                },
                "required": ["amount", "from", "to"],
            },
        },
    },
]
TOOL_CALL_TURN = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_weather", "arguments": {"city": "Zürich", "units": "metric", "days": 2}}},
        {"id": "call_2", "type": "function",
         "function": {"name": "convert", "arguments": {"amount": 12.5, "from": "EUR", "to": "CHF", "exact": True,
                                                      "note": None}}},
    ],
}
TOOL_RESULTS = [
    {"role": "tool", "name": "get_weather", "tool_call_id": "call_1", "content": "{\"temp_c\": 21, \"sky\": \"clear\"}"},
    {"role": "tool", "name": "convert", "tool_call_id": "call_2", "content": "11.73"},
]
ANSWER = {"role": "assistant", "content": "It is 21 °C and clear in Zürich; 12.50 EUR is 11.73 CHF."}


def hf_context(meta, messages, add_generation_prompt, tools=None):
    # What transformers passes to the template: messages, tools, documents, add_generation_prompt and
    # the special tokens. Hearth takes bos/eos from the GGUF, as llama.cpp-style runtimes do.
    return {
        "messages": messages,
        "tools": tools,
        "documents": None,
        "add_generation_prompt": add_generation_prompt,
        "bos_token": meta["bos_token"],
        "eos_token": meta["eos_token"],
    }


def model_cases(name, meta):
    cases = []

    def add(case_name, messages, agp, tools=None, env=HF_ENV):
        cases.append((f"{name}/{case_name}", hf_context(meta, messages, agp, tools), env))

    add("system_user", [SYSTEM, USER1], True)
    add("user_only", [USER1], True)
    add("user_only_no_generation_prompt", [USER1], False)
    add("multi_turn", [SYSTEM, USER1, ASSIST1, USER2], True)
    add("multi_turn_no_system", [USER1, ASSIST1, USER2], False)
    add("ends_with_assistant", [USER1, ASSIST1], False)
    add("unicode_newlines", [SYSTEM, UNICODE_USER], True)
    add("jinja_looking_content", [JINJA_LOOKING, ASSIST1, PADDED_USER], True)
    add("empty_content", [{"role": "user", "content": ""}], True)
    add("jinja_default_environment", [SYSTEM, USER1, ASSIST1, USER2], True, env=JINJA_DEFAULT_ENV)
    add("keep_trailing_newline_no_trim", [USER1], True,
        env={"trim_blocks": False, "lstrip_blocks": False, "keep_trailing_newline": True, "tojson": "huggingface"})
    if name == "smollm2":
        add("no_messages", [], True)
    if name == "qwen2.5-coder":
        add("tools_call_and_results", [USER1, TOOL_CALL_TURN, *TOOL_RESULTS, ANSWER], True, tools=WEATHER_TOOLS)
        add("tools_with_system", [SYSTEM, USER1], True, tools=WEATHER_TOOLS)
        add("tools_jinja2_tojson", [SYSTEM, USER1, TOOL_CALL_TURN, *TOOL_RESULTS], True, tools=WEATHER_TOOLS,
            env={**HF_ENV, "tojson": "jinja2"})
        add("tool_call_with_text_no_function_wrapper",
            [USER1, {"role": "assistant", "content": "Let me check.",
                     "tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
             TOOL_RESULTS[0]], False, tools=WEATHER_TOOLS)
        add("tool_result_first_message", [TOOL_RESULTS[1], USER2], True)
        add("no_messages_fails", [], True)
    if name == "gemma3":
        add("bad_role_order_fails", [USER1, USER2], True)
        add("assistant_first_fails", [ASSIST1, USER1], True)
        add("system_as_parts", [{"role": "system", "content": [{"type": "text", "text": "  Be brief.  "}]},
                                USER1], True)
        add("content_parts_with_image",
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " Describe this. "},
                                          {"type": "audio"}]}], True)
        add("invalid_content_type_fails", [{"role": "user", "content": 42}], True)
    return cases


# ---------------------------------------------------------------------------------------------
# Small templates, one feature each. Rendered in the HF environment and in jinja2's defaults.

SEMANTICS = [
    # whitespace control
    ("ws_lstrip_trim", "  {% if true %}\n  x\n  {% endif %}\n", {}),
    ("ws_dash", "a  {%- if true %} b {% endif -%}  c", {}),
    ("ws_dash_variables", "a \n {{- 'b' -}} \n c {{ 'd' -}}\n\ne", {}),
    ("ws_comment_line", "x\n  {# c #}\ny\n{#- d -#}\n  z", {}),
    ("ws_plus", "x\n  {%+ if true %}\ny{% endif +%}\nz", {}),
    ("ws_crlf", "\t{% if true %}\r\nA\r\n{% endif %}\r\nB\rC\r\n", {}),
    ("ws_lstrip_not_for_variables", "  {{ 'v' }}\n  {% if true %}w{% endif %}", {}),
    ("ws_lstrip_mid_line", "a  {% if true %}b{% endif %}  \n", {}),
    ("ws_for_lines", "{% for m in items %}\n  - {{ m }}\n{% endfor %}\ndone\n", {"items": ["a", "b"]}),
    ("ws_trailing_newlines", "x\n\n", {}),
    ("ws_raw", "{% raw %} {{ x }}{% endraw %}\n{%- raw -%}  {% y %}  {%- endraw %}\n", {}),
    ("ws_set_block", "{% set x %}\n  inner {{ 1 }}\n{% endset %}[{{ x }}]", {}),
    # literals and output
    ("lit_numbers", "{{ 1.0 }} {{ 1e16 }} {{ 1e15 }} {{ 0.1 + 0.2 }} {{ 1e-5 }} {{ 1_000 }} {{ 1.5e3 }} {{ 0.0001 }} {{ 123456789.125 }}", {}),
    ("lit_collections", "{{ [1, 'a', none, true, {'k': 'v'}, 1.5, (1, 2), (3,), ()] }}", {}),
    ("lit_string_repr", "{{ [\"it's\", 'a\"b', 'x\\ny', 'tab\\t', '\\\\', 'é😀', '\\x01'] }}", {}),
    ("lit_string_escapes", "{{ 'a\\tb\\x41\\u00e9\\n\\'q\\' \\d' }}|{{ \"dq \\\"x\\\"\" }}", {}),
    ("lit_implicit_concat", "{{ 'a' 'b' \"c\" }}", {}),
    ("lit_bools_none", "{{ true }} {{ True }} {{ false }} {{ none }} {{ None }}", {}),
    ("lit_dict_int_keys", "{{ {'a': 1, 'b': [2]} }}", {}),
    # arithmetic
    ("math_ops", "{{ 3/2 }} {{ 4/2 }} {{ 7//2 }} {{ -7//2 }} {{ -7%3 }} {{ 7%-3 }} {{ 2**10 }} {{ 2**-1 }} {{ 7.5//2 }} {{ -7.5%2 }} {{ 2**0.5 }}", {}),
    ("math_precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ 'a' ~ 1 + 2 }}", {}),
    ("math_strings_lists", "{{ 'x' * 3 }} {{ [1] * 2 }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 3 * 'y' }}", {}),
    ("math_bool_arith", "{{ true + 1 }} {{ true * 3 }} {{ 1 == 1.0 }} {{ true == 1 }}", {}),
    ("math_concat", "{{ 'a' ~ 1 ~ none ~ true ~ 1.5 ~ missing ~ [1] }}", {}),
    ("math_div_zero", "{{ 10 / 0 }}", {}),
    ("math_floordiv_zero", "{{ 7 // 0 }}", {}),
    ("math_str_plus_int", "{{ 'a' + 1 }}", {}),
    ("math_concat_precedence_error", "{{ 1 ~ 2 + 3 }}", {}),
    ("math_float_formatting", "{{ 1/3 }} {{ 2/3 * 3 }} {{ 1e300 * 1e300 }} {{ -0.0 }} {{ 1e22 }} {{ 5e-324 }} {{ 100.0 / 3 }}", {}),
    ("math_unary", "{{ -x }} {{ +x }} {{ - -1 }} {{ -1.5 }}", {"x": 4}),
    # comparisons and logic
    ("cmp_chain", "{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 <= 1.0 }} {{ 'B' < 'a' }}", {}),
    ("cmp_in", "{{ 'a' in 'cat' }} {{ 1 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 'x' in missing }}", {}),
    ("cmp_equality", "{{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ [1] == [1.0] }} {{ none == none }} {{ missing == missing }} {{ 'a' != 'b' }}", {}),
    ("cmp_type_error", "{{ 3 > 'a' }}", {}),
    ("logic_values", "{{ [] or 'x' }} {{ 'a' and 'b' }} {{ 0 or none }} {{ not 1 == 2 }} {{ not missing is defined }} {{ '' and 1 }}", {}),
    ("logic_short_circuit", "{{ false and missing.attr }} {{ true or missing.attr }}", {}),
    ("cond_expr", "{{ 'y' if 1 else 'n' }} {{ 'a' if false }}|{{ ('a' if false) is defined }} {{ 5 if 0 else 2 | string }}", {}),
    # variables, attributes, subscripts
    ("attr_and_item", "{{ m.role }} {{ m['role'] }} {{ m.missing }}|{{ m['missing'] }}|{{ l[0] }} {{ l[-1] }} {{ l[9] }}|{{ l.0 }}", {"m": {"role": "user"}, "l": [1, 2, 3]}),
    ("attr_none", "{{ none.y }}|{{ 'str'.nothing }}|{{ [1].nothing }}", {}),
    ("undefined_render", "[{{ missing }}] {{ missing | length }} {{ missing is iterable }} {{ missing is sequence }}", {}),
    ("undefined_attr_error", "{{ missing.attr }}", {}),
    ("undefined_item_error", "{{ missing['a'] }}", {}),
    ("undefined_add_error", "{{ missing + 'a' }}", {}),
    ("undefined_call_error", "{{ missing() }}", {}),
    ("undefined_nested_error", "{{ none.y.z }}", {}),
    ("slices", "{{ 'abcde'[1:] }} {{ 'abc'[::-1] }} {{ [1, 2, 3][:-1] }} {{ 'hello'[1:4:2] }} {{ l[1:] }} {{ l[-2:] }} {{ 'abc'[5:] }}|{{ 'é😀x'[1] }}", {"l": [1, 2, 3]}),
    ("dict_method_attr", "{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 2) }} {{ d['items'] }}", {"d": {"a": 1, "items": 5}}),
    # tests
    ("tests_types", "{{ 'a' is string }} {{ 1 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }} {{ {} is mapping }} {{ [] is mapping }} {{ 'a' is iterable }} {{ 1 is iterable }} {{ 1 is sequence }} {{ none is none }} {{ true is boolean }}", {}),
    ("tests_defined", "{{ x is defined }} {{ missing is defined }} {{ missing is undefined }} {{ none is defined }} {{ x is not defined }} {{ m.a is defined }} {{ m.b is defined }}", {"x": 1, "m": {"a": 1}}),
    ("tests_misc", "{{ 1 is odd }} {{ 2 is even }} {{ 6 is divisibleby 3 }} {{ 'a' is lower }} {{ 'A' is upper }} {{ 1 is in [1] }} {{ 1 is eq 1 }} {{ 2 is gt 1 }} {{ 1 is ne 1 }} {{ none is sameas none }} {{ x is callable }} {{ range is callable }}", {"x": 1}),
    ("tests_precedence", "{{ 'a' ~ 'b' is string }} {{ not 'x' is string }} {{ 'a' is string and 1 }}", {}),
    # loops
    ("for_loop_vars", "{% for x in items %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}", {"items": ["a", "b", "c"]}),
    ("for_prev_next", "{% for x in items %}[{{ loop.previtem }}|{{ loop.nextitem }}|{{ loop.cycle('o', 'e') }}|{{ loop.depth }}]{% endfor %}", {"items": [1, 2, 3]}),
    ("for_filter_else", "{% for a in [1, 2, 3] if a > 1 %}{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}|{% for a in [] %}x{% else %}empty{% endfor %}|{% for a in [1] if a > 5 %}x{% else %}filtered{% endfor %}", {}),
    ("for_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_string_and_dict", "{% for c in 'hé!' %}{{ c }}.{% endfor %}{% for x in missing %}no{% endfor %}", {}),
    ("for_nested_loop_var", "{% for i in [1, 2] %}{% set outer = loop %}{% for j in 'ab' %}{{ outer.index }}{{ loop.index }}{{ j }} {% endfor %}{% endfor %}", {}),
    ("for_break_continue", "{% for i in range(6) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{{ loop.last }} {% endfor %}", {}),
    ("for_range", "{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }} {% for i in range(2) %}{{ i }}{% endfor %}", {}),
    ("for_range_too_big", "{{ range(200000) | length }}", {}),
    ("loop_outside_for", "{{ loop.index }}", {}),
    # scoping and assignment
    ("scope_for_set", "{% set x = 0 %}{% for i in range(3) %}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("scope_for_per_iteration", "{% for i in range(3) %}{% if i == 1 %}{% set y = 5 %}{% endif %}{{ y }}{% endfor %}|{% for i in range(2) %}{% set z = i %}{% endfor %}{{ z }}", {}),
    ("scope_if_leaks", "{% if true %}{% set z = 3 %}{% endif %}{{ z }}", {}),
    ("scope_read_before_set", "{% set x = 0 %}{% for i in range(2) %}{{ x }}{% set x = 5 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(a=1, found=false) %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.a }} {{ ns.found }} {{ ns.missing }}|{{ ns }}", {}),
    ("namespace_from_dict", "{% set ns = namespace({'a': 1}, b=2) %}{{ ns.a }}{{ ns['b'] }}", {}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, 'x' %}{{ t }}", {}),
    ("set_block_filter", "{% set x | upper %}abc{{ 1 }}{% endset %}{{ x }}", {}),
    ("set_attr_non_namespace", "{% set d = {} %}{% set d.a = 1 %}", {}),
    ("with_block", "{% set a = 1 %}{% with a = 2, b = a %}{{ a }}{{ b }}{% endwith %}{{ a }}{{ b }}", {}),
    ("context_override_global", "{{ range }}", {"range": "mine"}),
    # macros
    ("macro_basic", "{% macro m(a, b='x') %}[{{ a }}{{ b }}]{% endmacro %}{{ m(1) }}{{ m(1, 2) }}{{ m(b=3, a=4) }}{{ m() }}", {}),
    ("macro_varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}", {}),
    ("macro_scope", "{% set x = 1 %}{% macro m() %}{{ x }}{% set x = 2 %}{{ x }}{{ y }}{% endmacro %}{% set y = 7 %}{{ m() }}{{ x }}", {}),
    ("macro_in_loop", "{% for i in range(2) %}{% macro m() %}{{ i }}{% endmacro %}{{ m() }}{% endfor %}", {}),
    ("macro_recursion", "{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(4) }}", {}),
    ("macro_too_many_args", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", {}),
    ("macro_default_uses_arg", "{% macro m(a, b=a ~ '!') %}{{ b }}{% endmacro %}{{ m('hi') }}", {}),
    ("filter_block", "{% filter upper %}abc {{ 'd' }}{% endfilter %}", {}),
    # filters
    ("f_trim", "[{{ '  hi  ' | trim }}] [{{ 'xxhixx' | trim('x') }}] [{{ '\\u00a0x\\u3000' | trim }}] [{{ '\\x1cx\\x1f' | trim }}] [{{ missing | trim }}]", {}),
    ("f_case", "{{ 'hello world' | title }} {{ 'hELLO wORLD' | capitalize }} {{ 'a-b c(d' | title }} {{ 'é' | upper }} {{ 'ß' | upper }} {{ 'ǅ' | lower }} {{ 'ǆa' | capitalize }} {{ 'MiXeD' | lower }}", {}),
    ("f_length_count", "{{ 'abc' | length }} {{ [1, 2] | length }} {{ {'a': 1} | length }} {{ '👍🏽' | length }} {{ 'e\u0301' | length }} {{ [1] | count }}", {}),
    ("f_join", "{{ [1, 2, 3] | join('-') }} {{ ['a', 'b'] | join }} {{ [{'n': 'a'}, {'n': 'b'}] | join(',', attribute='n') }} {{ 'abc' | join('.') }}", {}),
    ("f_map_select", "{{ users | map(attribute='name') | join(',') }} {{ users | selectattr('admin') | map(attribute='name') | list }} {{ users | rejectattr('admin') | list | length }} {{ users | selectattr('name', 'equalto', 'bo') | list }} {{ users | map(attribute='missing', default='?') | list }} {{ ['a', 'B'] | map('upper') | list }}", {"users": [{"name": "al", "admin": True}, {"name": "bo"}]}),
    ("f_select_reject", "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('odd') | list }} {{ [0, 1, '', 'a', none] | select | list }} {{ [1, 5, 3] | select('gt', 2) | list }}", {}),
    ("f_default", "{{ missing | default('d') }} {{ '' | default('d') }} {{ '' | default('d', true) }} {{ none | default('d') }} {{ missing | d('e') }} {{ 0 | default(5, boolean=true) }}", {}),
    ("f_first_last", "{{ 'abc' | first }} {{ [3, 1] | first }} {{ [3, 1] | last }} {{ {'k': 1, 'j': 2} | first }} {{ [] | first }}|{{ 'xyz' | last }}", {}),
    ("f_conversions", "{{ '5' | int }} {{ 'x' | int }} {{ 3.7 | int }} {{ '3.5' | int }} {{ ' 42 ' | int }} {{ true | int }} {{ '3.5' | float }} {{ 'x' | float }} {{ 2 | float }} {{ 5 | string }} {{ [1] | string }} {{ none | string }} {{ 'x' | int(7) }}", {}),
    ("f_list_items", "{{ 'abc' | list }} {{ {'b': 1, 'a': 2} | list }} {{ {'b': 1, 'a': 2} | items | list }} {{ {'b': 1, 'a': 2} | dictsort }} {{ {'b': 1, 'a': 2} | dictsort(by='value', reverse=true) }}", {}),
    ("f_replace", "{{ 'abcb' | replace('b', 'x') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', '-') }}", {}),
    ("f_sort_unique", "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [3, 1, 2] | sort(reverse=true) }} {{ users | sort(attribute='age') | map(attribute='n') | join }} {{ [1, 2, 1, 'a', 'A'] | unique | list }}", {"users": [{"n": "x", "age": 30}, {"n": "y", "age": 20}]}),
    ("f_numeric", "{{ -1 | abs }} {{ -2.5 | abs }} {{ [1, 2, 3] | sum }} {{ [1.5, 2] | sum }} {{ [3, 1, 2] | max }} {{ [3, 1, 2] | min }} {{ ['b', 'A'] | max }} {{ 2.567 | round(1) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.5 | round(0, 'floor') }} {{ 2.1 | round(0, 'ceil') }} {{ 1.25 | round(1) }} {{ 3 | round }}", {}),
    ("f_reverse", "{{ 'abc' | reverse }} {{ [1, 2] | reverse | list }}", {}),
    ("f_indent_center_wordcount", "{{ 'a\\nb\\n\\nc' | indent(2) }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent('> ', true, true) }}|{{ 'abc' | center(8) }}|{{ 'one two  three' | wordcount }}", {}),
    ("f_format", "{{ '%s and %d' | format('a', 3) }} {{ '%s-%s' % ('a', 'b') }} {{ '%.2f' | format(3.14159) }} {{ '%5s|%-5s|' | format('a', 'b') }} {{ '%x %o %e %%' | format(255, 8, 12345.678) }} {{ '%(a)s' % {'a': 1} }} {{ '%r' % 'q' }} {{ '%03d|%+d' | format(7, 5) }}", {}),
    ("f_escape_safe", "{{ '<a href=\"x\">&\\'</a>' | e }} {{ '<b>' | safe }} {{ '<i>' | escape }}", {}),
    ("f_tojson", "{{ data | tojson }}|{{ data | tojson(indent=2) }}|{{ 'é<&>\\'😀' | tojson }}|{{ [1, 2.0, none, true] | tojson }}|{{ {} | tojson(indent=2) }}|{{ [] | tojson }}", {"data": {"b": 1, "a": [1, {"z": None, "y": "q\"uote\n"}], "c": 1.5}}),
    ("f_tojson_undefined", "{{ missing | tojson }}", {}),
    ("f_unknown_in_if", "{% if false %}{{ x | nosuchfilter }}{% endif %}ok", {}),
    ("f_unknown_runtime", "{% if true %}{{ x | nosuchfilter }}{% endif %}", {}),
    ("f_attribute_missing_list", "{{ [{'a': 1}, {}] | map(attribute='a') | list }}", {}),
    # methods
    ("m_string", "{{ ' x '.strip() }}|{{ 'xax'.strip('x') }}|{{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|{{ 'abc'.startswith('a') }}{{ 'abc'.endswith(('c', 'd')) }}{{ 'abc'.startswith('b', 1) }}|{{ 'a b'.upper() }}{{ 'A'.lower() }}|{{ 'x'.title() }}{{ 'ab'.capitalize() }}", {}),
    ("m_split", "{{ 'Hello  World '.split() }} {{ ' a b '.split(' ') }} {{ 'a,b,c'.split(',', 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'l1\\nl2\\r\\nl3'.splitlines() }} {{ ''.split() }} {{ ''.split(',') }}", {}),
    ("m_find_replace", "{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.find('z') }} {{ 'hello'.count('l') }} {{ 'hello'.replace('l', 'L') }} {{ 'hello'.replace('l', 'L', 1) }} {{ ', '.join(['a', 'b']) }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }}", {}),
    ("m_dict", "{{ d.keys() | list }} {{ d.values() | list }} {{ d.items() | list }} {{ d.get('a') }} {{ d.get('z', 'def') }}", {"d": {"a": 1, "b": [2]}}),
    ("m_unsafe_mutation", "{{ [1, 2].append(3) }}", {}),
    ("m_list", "{{ [1, 2, 1].count(1) }} {{ ['a', 'b'].index('b') }}", {}),
    # globals
    ("g_raise_exception", "{% if true %}{{ raise_exception('Custom failure: ' ~ 42) }}{% endif %}", {}),
    ("g_strftime_now", "{{ strftime_now('%Y-%m-%d %H:%M:%S') }} {{ strftime_now('%d %b %Y') }} {{ strftime_now('%A %B %j %%') }}", {}),
    ("g_dict", "{{ dict(a=1, b='x') }} {{ dict(a=1).a }}", {}),
    ("g_joiner", "{% set j = joiner(' | ') %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}", {}),
    # comments and misc syntax
    ("comments", "a{# one #}b{#\nmulti\nline\n#}c{#- strip -#}  d", {}),
    ("nested_structures", "{{ {'a': {'b': [1, {'c': 2}]}}['a']['b'][1].c }} {{ [[1, 2], [3]][1][0] }} {{ {'a': 1}['a'] }}", {}),
    ("print_tuple", "{{ 1, 2 }} {{ (1, 'a') }}", {}),
    ("filter_chain_precedence", "{{ 'a' + 'bc' | upper }} {{ -3 | abs }} {{ ('a' + 'b') | upper }} {{ [1, 2] | length + 1 }}", {}),
    ("call_kwargs_splat", "{{ dict(**{'a': 1}) }} {{ range(*[1, 3]) | list }}", {}),
    ("generation_block", "a{% generation %}b{{ 1 }}{% set g = 1 %}{% endgeneration %}c{{ g }}", {}),
    ("string_modulo_types", "{{ '%d' % 3.9 }} {{ '%s' % none }} {{ '%s %s' % (1, [2]) }}", {}),
]

# Behaviours found by differential fuzzing against jinja2.
SEMANTICS += [
    ("for_else_after_break", "{% for x in [1, 2] %}{{ x }}{% break %}{% else %}E{% endfor %}|{% for x in [1, 2] %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% else %}E{% endfor %}|{% for x in [1] %}{% continue %}{% else %}E{% endfor %}", {}),
    ("for_else_scope", "{% for x in [] %}{% else %}{% set y = 1 %}{{ y }}{% endfor %}[{{ y }}]", {}),
    ("tests_odd_even_float", "{{ 2.0 is even }} {{ 3.0 is odd }} {{ -0.5 is even }} {{ 7.5 is divisibleby 2.5 }} {{ true is odd }}", {}),
    ("tests_lower_on_non_strings", "{{ ['a'] is lower }} {{ 5 is lower }} {{ none is upper }} {{ {'A': 1} is upper }}", {}),
    ("test_extra_argument_error", "{{ 1 is even 2 }}", {}),
    ("mod_list_and_undefined", "{{ 'plain' % [1, 2] }}|{{ '%s' % missing }}|{{ 'x' % missing }}|{{ 'a%sb' % [1] }}", {}),
    ("safe_undefined", "{{ (missing | safe) == '' }} {{ 5 | safe ~ 1 }}", {}),
    ("truncate_non_string", "{{ d | truncate(5) }} {{ 'a long sentence here' | truncate(10) }} {{ 'a long sentence here' | truncate(10, true) }} {{ 'short' | truncate(3, end='') }}", {"d": {"a": 1}}),
    ("truncate_int_error", "{{ 5 | truncate }}", {}),
    ("select_on_falsy", "{{ 0 | select | list }} {{ none | map('upper') | list }} {{ '' | selectattr('a') | list }}", {}),
    ("sort_multi_attribute", "{{ people | sort(attribute='age,name') | map(attribute='name') | join(',') }} {{ people | sort(attribute='nick') | map(attribute='name') | join(',') }}", {"people": [{"name": "c", "age": 2}, {"name": "a", "age": 2}, {"name": "b", "age": 1}]}),
    ("int_float_of_undefined_error", "{{ missing | int }}", {}),
    ("indent_non_string_error", "{{ 5 | indent }}", {}),
    ("unique_unhashable_error", "{{ [{'a': 1}, {'a': 1}] | unique | list }}", {}),
    ("in_dict_unhashable_error", "{{ [1] in {'a': 1} }}", {}),
    ("slice_dict_error", "{{ d[1:] }}", {"d": {"a": 1}}),
    ("namespace_self_reference", "{% set ns = namespace(a=1) %}{% set ns.me = ns %}{{ ns }} {{ ns.me.me.a }}", {}),
    ("loop_changed", "{% for x in [1, 1, 2, 2, 1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", {}),
]

SEMANTICS += [
    ("f_attr_batch_slice", "{{ d | attr('a') }} {{ d | attr('items') is callable }} {{ range(7) | batch(3) | list }} {{ range(7) | batch(3, 'x') | list }} {{ range(7) | slice(3) | list }} {{ range(7) | slice(3, 0) | list }} {{ 'abcde' | slice(2) | list }} {{ [] | batch(2) | list }} {{ '<a>' | forceescape }}", {"d": {"a": 1}}),
]

# Chat-template-shaped templates (written for these tests) over realistic conversations.
_CONVERSATION = [
    {"role": "system", "content": "  You are terse.  "},
    {"role": "user", "content": "Hi <b>there</b> & 'you'\n"},
    {"role": "assistant", "content": "<think>\nplan it\n</think>\n\nHello!", "reasoning_content": None},
    {"role": "assistant", "content": None, "tool_calls": [{"type": "function", "function": {"name": "lookup", "arguments": {"q": "Zürich", "n": 2}}}]},
    {"role": "tool", "content": "{\"temp\": 21}"},
    {"role": "tool", "content": "done"},
    {"role": "user", "content": "Thanks 👍🏽"},
]
_TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "Look <up> & find", "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "n": {"type": "integer", "default": 1}}, "required": ["q"]}}}]
_CHAT = {"messages": _CONVERSATION, "tools": _TOOLS, "add_generation_prompt": True, "bos_token": "<s>", "eos_token": "</s>"}
SEMANTICS += [
    ("chat_reasoning_split", """{%- for message in messages %}
    {%- set content = message.content if message.content is string else '' %}
    {%- if message.role == 'assistant' and '</think>' in content %}
        {%- set reasoning = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
        {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
{{ '<|assistant|>' }}[{{ reasoning }}]{{ content }}
    {%- else %}
{{ '<|' ~ message.role ~ '|>' ~ content | trim }}
    {%- endif %}
{%- endfor %}""", _CHAT),
    ("chat_last_user_index", """{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
last={{ ns.last_query_index }}""", _CHAT),
    ("chat_tools_in_system", """{{- bos_token }}
{%- if tools is not none and tools | length > 0 %}
    {{- "<|system|>\\nTools:\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'tool' %}
        {%- if loop.previtem is defined and loop.previtem.role != 'tool' %}<results>{% endif %}
        {{- '<r>' + message.content + '</r>' }}
        {%- if loop.nextitem is not defined or loop.nextitem.role != 'tool' %}</results>{% endif %}
    {%- elif message.tool_calls %}
        {%- for call in message.tool_calls %}
            {{- '<call>' ~ call.function.name ~ ' ' ~ call.function.arguments | tojson ~ '</call>' }}
        {%- endfor %}
    {%- else %}
        {{- '<|' + message.role + '|>\\n' + message.content | trim + eos_token }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}""", _CHAT),
    ("chat_alternation_check", """{%- if messages[0]['role'] == 'system' %}{%- set loop_messages = messages[1:3] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate, got ' + message['role'] + ' at ' ~ loop.index0) }}
    {%- endif %}
    {{- '[INST] ' + message['content'] | trim + ' [/INST]' if message['role'] == 'user' else ' ' + message['content'] + eos_token }}
{%- endfor %}""", _CHAT),
    ("chat_alternation_failure", """{%- for message in messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
{%- endfor %}""", _CHAT),
    ("chat_date_and_defaults", """{%- if not date_string is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- endif %}
{%- set system_message = messages[0]['content'] | trim if messages[0]['role'] == 'system' else 'default' %}
Today: {{ date_string }}
System: {{ system_message }}
Users: {{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | map('trim') | join(' / ') }}
Roles: {{ messages | map(attribute='role') | unique | list | join(',') }}""", _CHAT),
]

# `{{ value | tojson }}` for assorted values; the Swift tests also check
# TemplateValue.jsonString() against these outputs.
SEMANTICS += [
    (f"json_value_{i}", "{{ value | tojson }}", {"value": v}) for i, v in enumerate([
        {"z": 1, "a": [True, False, None], "m": {"é": "ü", "emoji": "😀", "ctl": "\x01\x1f\x7f", "q": "\"\\/"}},
        [1.5, -0.0, 1e-07, 1e+22, 123456789012345678, -9007199254740993, 0.1],
        "line\nbreak\ttab\r\u2028\u00a0<>&'",
        {},
        [],
        {"nested": [[[]], [{}], {"k": [1, {"j": None}]}]},
    ])
]

SYNTAX_ERRORS = [
    ("unclosed_if", "a {% if 1 %}b"),
    ("unclosed_for", "{% for x in y %}\n\n{{ x }}"),
    ("missing_expression", "{% for %}"),
    ("dangling_operator", "line one\n{{ 1 + }}"),
    ("unknown_filter_top", "x\ny\n{{ x | nofilter }}"),
    ("unknown_test_top", "{{ 1 is nosuchtest }}"),
    ("unterminated_string", "{{ 'a }}"),
    ("unterminated_comment", "ok\n{# abc"),
    ("unknown_tag", "{% foo %}"),
    ("bad_char", "\n\n  {{ x ! y }}"),
    ("unbalanced_paren", "{{ (1 }}"),
    ("unexpected_bracket", "{{ 1 ]}}"),
    ("endfor_mismatch", "{% if x %}\n{% endfor %}"),
    ("stray_endif", "text\n{% endif %}"),
    ("elif_after_else", "{% if a %}{% else %}{% elif b %}{% endif %}"),
    ("unclosed_variable", "{{ x "),
    ("unclosed_block", "{% if x "),
    ("bad_assign_target", "{% set 1 = 2 %}"),
    ("macro_unclosed", "{% macro m() %}\nbody"),
    ("break_outside_loop", "{% break %}"),
    ("unclosed_raw", "{% raw %} abc"),
    ("missing_in", "{% for x y %}{% endfor %}"),
    ("bad_subscript", "{{ a. }}"),
    ("unclosed_list", "{{ [1, 2 }}"),
    ("set_without_value", "{% set x = %}"),
    ("else_without_if", "a\n{% else %}"),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=os.environ.get("HEARTH_MODEL_CACHE",
                                                       os.path.expanduser("~/.cache/hearth/models")))
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "HearthTemplateTests", "Golden"))
    args = ap.parse_args()

    if jinja2.__version__ != JINJA2_VERSION:
        print(f"warning: jinja2 {jinja2.__version__}; the goldens were made with {JINJA2_VERSION}", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)

    cases = []
    for name, filename, fallback in MODELS:
        path = os.path.join(args.models, filename)
        keys = {"tokenizer.chat_template", "tokenizer.ggml.tokens", "tokenizer.ggml.bos_token_id",
                "tokenizer.ggml.eos_token_id"}
        meta = read_gguf_metadata(path, keys)
        source = meta.get("tokenizer.chat_template")
        origin = f"GGUF metadata tokenizer.chat_template of {filename}"
        if source is None:
            if fallback is None:
                sys.exit(f"{filename} has no tokenizer.chat_template")
            source = fallback
            origin = (f"{filename} (a base model) has no tokenizer.chat_template; this is the template "
                      f"published with google/gemma-3-270m-it")
        tokens = meta["tokenizer.ggml.tokens"]
        specials = {"bos_token": tokens[meta["tokenizer.ggml.bos_token_id"]],
                    "eos_token": tokens[meta["tokenizer.ggml.eos_token_id"]]}
        template_file = f"{name}.template.jinja"
        with open(os.path.join(args.out, template_file), "w", encoding="utf-8", newline="") as f:
            f.write(source)
        print(f"{template_file}: {origin}; bos={specials['bos_token']!r} eos={specials['eos_token']!r}")
        for case_name, context, env in model_cases(name, specials):
            status, text = render(source, context, env)
            case = {"name": case_name, "template": template_file, "environment": env, "context": context}
            if status == "ok":
                case["expected"] = text
            else:
                case["error"] = text
                # raise_exception messages must come through verbatim; other failures only need to fail
                if text.startswith("TemplateError: "):
                    case["error_contains"] = text[len("TemplateError: "):]
            cases.append(case)

    semantics = []
    for name, source, context in SEMANTICS:
        for env_name, env in (("huggingface", HF_ENV), ("jinja2_default", JINJA_DEFAULT_ENV)):
            status, text = render(source, context, env)
            case = {"name": f"{name}/{env_name}", "source": source, "environment": env, "context": context}
            if status == "ok":
                case["expected"] = text
            else:
                case["error"] = text
                if text.startswith("TemplateError: "):
                    case["error_contains"] = text[len("TemplateError: "):]
            semantics.append(case)

    syntax = []
    for name, source in SYNTAX_ERRORS:
        env = make_env()
        try:
            env.from_string(source)
            syntax.append({"name": name, "source": source, "compiles": True})
        except jinja2.TemplateSyntaxError as exc:  # TemplateAssertionError is a subclass
            syntax.append({"name": name, "source": source, "compiles": False, "line": exc.lineno,
                           "message": exc.message})
        except SyntaxError as exc:
            # jinja2 lets a few mistakes through to Python's compiler ('break' outside a loop);
            # the line Python reports is one of the generated code, so none is recorded
            syntax.append({"name": name, "source": source, "compiles": False, "line": None,
                           "message": f"{type(exc).__name__}: {exc.msg}"})

    def dump(filename, obj):
        with open(os.path.join(args.out, filename), "w", encoding="utf-8", newline="") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1)
            f.write("\n")

    header = {"generator": "scripts/make-template-goldens.py", "jinja2": jinja2.__version__,
              "python": sys.version.split()[0], "strftime_now": FIXED_NOW.isoformat()}
    dump("cases.json", {**header, "cases": cases})
    dump("semantics.json", {**header, "cases": semantics})
    dump("syntax-errors.json", {**header, "cases": syntax})
    n_err = sum(1 for c in cases if "error" in c)
    print(f"cases.json: {len(cases)} conversations ({n_err} expected to fail); "
          f"semantics.json: {len(semantics)}; syntax-errors.json: {len(syntax)}")


if __name__ == "__main__":
    main()
