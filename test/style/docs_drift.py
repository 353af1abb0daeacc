#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The README, the man page and the public header name the same things.

usage: docs_drift.py SOURCE_DIR

  parameters   README's "Parameters" table = the man page's PARAMETERS
               entries = the KMSRE_PARAM_* values of include/kmsreencrypt.h
  key params   the man page's key parameters (KEY URIS) = KMSRE_PKEY_PARAM_*,
               each named in the README
  cnf keys     README's "cnf key" table = the man page's CONFIGURATION
               entries = the KMSRE_CONF_* values
  environment  the variables the README's user sections name (AWS_*,
               KMSRE_*, OPENSSL_CONF, OPENSSL_MODULES, the proxy variables;
               C macros left out) = the variables the man page's ENVIRONMENT
               section has an entry for; and every AWS_*/KMSRE_* name the
               provider's sources read is among them. The user sections are
               README_USER_SECTIONS (the Tests and Architecture sections
               name the test scripts' own variables)

The man page entries are scdoc definition terms: a line of bold names,
"*name*" or "*A*, *B*", followed by an indented description.
Prints ok/not ok lines and "N passed, M failed"; exits 1 on a difference.
"""
import pathlib
import re
import sys

ENV_NAME = re.compile(
    r"(?<![\w-])(AWS_[A-Z0-9_]*[A-Z0-9]|KMSRE_[A-Z0-9_]*[A-Z0-9]"
    r"|OPENSSL_(?:CONF|MODULES)|(?:HTTPS|ALL|NO)_PROXY|(?:https|all|no)_proxy)"
    r"(?![\w*])")
README_USER_SECTIONS = ["Install and use against AWS",
                        "kms-rotate: re-encrypt many ciphertexts",
                        "AWS configuration",
                        "Parameters", "Retries, timeouts and limits", "Errors",
                        "Troubleshooting"]
TERM_LINE = re.compile(r"^\*[^*\s]+\*(?:, \*[^*\s]+\*)*$")

passed = failed = 0


def report(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}")
        for line in detail.splitlines():
            print(f"#   {line}")


def same(name, sets):
    """sets: {label: set}; ok when all are equal (and not empty)."""
    labels = list(sets)
    union = set().union(*sets.values())
    lines = []
    for n in sorted(union):
        missing = [lb for lb in labels if n not in sets[lb]]
        if missing:
            lines.append(f"{n}: missing from {', '.join(missing)}")
    if not union:
        lines.append("no names found at all")
    report(f"{name}: {len(union)} names, the same in {', '.join(labels)}",
           not lines, "\n".join(lines))


def md_section(text, title):
    """The body of the README section '## title', its subsections
    included (up to the next '## ')."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text,
                  re.M | re.S)
    return m.group(1) if m else ""


def md_table_names(body, header_start):
    """First-column `names` of the Markdown table whose header row starts
    with '| header_start |'."""
    names, inside = set(), False
    for line in body.splitlines():
        if line.startswith(f"| {header_start} |"):
            inside = True
            continue
        if inside:
            if not line.startswith("|"):
                break
            m = re.match(r"\|\s*`([^`]+)`\s*\|", line)
            if m:
                names.add(m.group(1))
    return names


def scd_section(text, title, level="#"):
    """The body of scdoc section '# title' (or '## title' with level '##')."""
    m = re.search(rf"^{level} {re.escape(title)}\n(.*?)(?=^{level} |\Z)",
                  text, re.M | re.S)
    return m.group(1) if m else ""


def scd_terms(body):
    """The names of the definition terms of a section: lines of bold names
    that the next line indents."""
    lines = body.splitlines()
    names = set()
    for i, line in enumerate(lines[:-1]):
        if TERM_LINE.match(line) and lines[i + 1].startswith("\t"):
            names.update(re.findall(r"\*([^*\s]+)\*", line))
    return names


def header_values(text, prefix):
    """The string values of the #defines whose names start with prefix."""
    text = text.replace("\\\n", " ")
    return set(re.findall(rf"^#define {prefix}\w+\s+\"([^\"]+)\"", text, re.M))


def main():
    if len(sys.argv) != 2:
        print("usage: docs_drift.py SOURCE_DIR", file=sys.stderr)
        return 2
    src = pathlib.Path(sys.argv[1])
    readme = (src / "README.md").read_text()
    man = (src / "docs/kmsreencrypt.7.scd").read_text()
    header = (src / "include/kmsreencrypt.h").read_text()
    sources = [p.read_text(errors="replace")
               for p in sorted((src / "provider").rglob("*.[ch]"))]

    same("operation parameters", {
        "README (Parameters table)":
            md_table_names(md_section(readme, "Parameters"), "name"),
        "man page (PARAMETERS)": scd_terms(scd_section(man, "PARAMETERS")),
        "kmsreencrypt.h (KMSRE_PARAM_*)": header_values(header, "KMSRE_PARAM_"),
    })

    pkey_header = header_values(header, "KMSRE_PKEY_PARAM_")
    same("key parameters", {
        "man page (KEY URIS)": scd_terms(scd_section(man, "KEY URIS")),
        "kmsreencrypt.h (KMSRE_PKEY_PARAM_*)": pkey_header,
    })
    unnamed = sorted(n for n in pkey_header if f"`{n}`" not in readme)
    report("key parameters: each named in the README", not unnamed,
           "\n".join(f"{n}: not in README.md" for n in unnamed))

    same("cnf keys", {
        "README (cnf key table)": md_table_names(readme, "cnf key"),
        "man page (CONFIGURATION)": scd_terms(scd_section(man, "CONFIGURATION")),
        "kmsreencrypt.h (KMSRE_CONF_*)": header_values(header, "KMSRE_CONF_"),
    })

    macros = set()
    for text in sources + [header]:
        macros.update(re.findall(r"^#\s*define\s+(\w+)", text, re.M))
    readme_env = set()
    for title in README_USER_SECTIONS:
        body = md_section(readme, title)
        if not body:
            report(f"README has a section '{title}'", False,
                   "renamed? update README_USER_SECTIONS in " + sys.argv[0])
        readme_env.update(ENV_NAME.findall(body))
    readme_env -= macros
    man_env = scd_terms(scd_section(man, "ENVIRONMENT"))
    same("environment variables", {
        "README": readme_env,
        "man page (ENVIRONMENT)": man_env,
    })
    read = set()
    for text in sources:
        read.update(n for n in re.findall(r'"((?:AWS|KMSRE)_[A-Z0-9_]+)"', text)
                    if not n.endswith("_"))
    undocumented = sorted(read - man_env)
    report(f"environment: the {len(read)} AWS_/KMSRE_ names in provider/ "
           "sources are in the man page", read and not undocumented,
           "\n".join(f"{n}: not in the man page" for n in undocumented))

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
