# Installs the Debian packages named as arguments when any is missing (apt-get update first).
ensure_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing system packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
}

# Fails early with a clear message when the Swift toolchain is absent.
require_swift() {
    command -v swift >/dev/null || { echo "swift 6.3 is required on PATH (https://swift.org/install)" >&2; exit 1; }
}

# Unpacks one program from a Debian package into .build/tools without installing the
# package (whose maintainer scripts could start a daemon): `extract_tool prometheus usr/bin/promtool`.
extract_tool() {
    local package="$1" path="$2" name
    name="$(basename "$path")"
    [ -x ".build/tools/$name" ] && return 0
    local work
    work="$(mktemp -d)"
    if ! (cd "$work" && apt-get download "$package" >/dev/null 2>&1); then
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -q
        (cd "$work" && apt-get download "$package")
    fi
    dpkg-deb -x "$work"/"$package"_*.deb "$work/root"
    mkdir -p .build/tools
    cp "$work/root/$path" ".build/tools/$name"
    rm -rf "$work"
}
