#!/usr/bin/env bash
# The native mapper under AddressSanitizer and UndefinedBehaviorSanitizer.
#
# Why: mapping/_cnative.c reads hostile input (any line of any file) with pointer
# arithmetic; the differential and mutation tests (tests/test_native.py) prove its
# output, and this run proves it never reads or writes outside its buffers while doing
# so. The extension is compiled a second time with -fsanitize=address,undefined and put
# in place of the normal build for the run (the normal one is restored on exit).
#
# How a Python host runs an ASan module (found on this project's machines, gcc 12):
# - the interpreter is not instrumented, so libasan must be loaded first: LD_PRELOAD of
#   the path `gcc -print-file-name=libasan.so` gives;
# - PYTHONMALLOC=malloc, so PyMem_Malloc (the mapper's buffers and memo entries) is
#   plain malloc, which ASan guards; with pymalloc's arenas an overflow would go unseen;
# - detect_leaks=0: the interpreter keeps its own allocations to exit by design, and
#   the leak check of the mapper is scripts/leak_check.py (RSS over a million calls);
# - -fno-sanitize-recover=all and halt_on_error: the first finding fails the run.
#
# Usage: scripts/sanitize.sh [pytest arguments]   (run from anywhere, in the dev venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
CC=${CC:-gcc}

source_file=parser/onepassword_ecs/mapping/_cnative.c
suffix=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
include=$("$PYTHON" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
target=parser/onepassword_ecs/mapping/_cnative$suffix
libasan=$("$CC" -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
    echo "sanitize.sh: $CC has no libasan.so; cannot run the sanitizer build" >&2
    exit 1
fi

work=$(mktemp -d)
restore() {
    if [ -e "$work/normal.so" ]; then
        mv -f "$work/normal.so" "$target"
    else
        rm -f "$target"
    fi
    rm -rf "$work"
}
trap restore EXIT
[ -e "$target" ] && cp -p "$target" "$work/normal.so"

echo "sanitize.sh: building $source_file with -fsanitize=address,undefined"
"$CC" -shared -fPIC -O1 -g -std=c11 -Wall -Wextra -Werror \
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    -I"$include" "$source_file" -o "$work/sanitized.so"
cp "$work/sanitized.so" "$target"

export LD_PRELOAD="$libasan"
export PYTHONMALLOC=malloc
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
unset ONEPASSWORD_ECS_PURE

# The sanitized module must be the one in use, or the run proves nothing.
"$PYTHON" - <<'EOF'
from onepassword_ecs.mapping import _native, mapper_implementation
from onepassword_ecs.mapping import _cnative  # type: ignore[attr-defined]

assert mapper_implementation() == "native", "the sanitized build did not load"
with open("/proc/self/maps") as maps:
    loaded = maps.read()
assert "libasan" in loaded and _cnative.__file__ in loaded, "not the sanitized module"
print(f"sanitize.sh: {_cnative.__file__} loaded with libasan")
EOF

# --capture=sys: a finding is written to file descriptor 2, which must stay the terminal.
"$PYTHON" -m pytest -q -p no:cacheprovider --capture=sys tests/test_native.py \
    -k "not the_suite_passes_on_the_pure_path" "$@"
echo "sanitize.sh: no finding"
