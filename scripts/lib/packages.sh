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
