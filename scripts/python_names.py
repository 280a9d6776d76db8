"""Print includes/python_names.yml: the names a generated package must not take.

Python keywords and standard-library module names come from the running interpreter, so run this
with the newest Python the template supports when that list changes:

    python scripts/python_names.py > includes/python_names.yml
"""

import keyword
import sys

# Names that would clash with the generated project's own layout or with common tooling.
LAYOUT_NAMES = {"src", "test", "tests", "setup", "site", "builtins", "conftest"}


def main() -> None:
    modules = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    names = sorted(modules | set(keyword.kwlist) | set(keyword.softkwlist) | LAYOUT_NAMES)
    print("# Names a generated package must not take: Python keywords, standard-library modules and")
    print("# names that clash with the project layout. Made by scripts/python_names.py; do not edit.")
    print("python_reserved_names:")
    print("  type: yaml")
    print("  when: false")
    print("  default:")
    for name in names:
        print(f'    - "{name}"')


if __name__ == "__main__":
    main()
