#!/usr/bin/env python3
"""Reads the JSON that otp-ctl --json and promtool print, for tests/compose/compose_test.sh.

    json_field.py alive     < members.json   names (before '@') of the members in state alive
    json_field.py states    < members.json   "name state" lines
    json_field.py owners    < names.json     "name node" lines of the global name table
    json_field.py node      < whereis.json   the node of a whereis answer
    json_field.py up        < promtool.json  "instance value" lines of an instant query

Prints one item a line, sorted; exits 1 with the input on stderr when it is not what it expects.
"""
import json
import sys


def short(name):
    return str(name).split("@", 1)[0]


def main():
    what = sys.argv[1]
    text = sys.stdin.read()
    try:
        value = json.loads(text)
        if what == "alive":
            lines = [short(m["name"]) for m in value if m["state"] == "alive"]
        elif what == "states":
            lines = [f'{short(m["name"])} {m["state"]}' for m in value]
        elif what == "owners":
            lines = [f'{n["name"]} {short(n["node"])}' for n in value]
        elif what == "node":
            lines = [short(value["node"])]
        elif what == "up":
            lines = [f'{s["metric"]["instance"]} {s["value"][1]}' for s in value]
        else:
            sys.exit(f"json_field.py: unknown query {what}")
    except (ValueError, KeyError, TypeError) as e:
        sys.stderr.write(f"json_field.py {what}: {e!r} in: {text.strip()[:500]}\n")
        sys.exit(1)
    for line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main()
