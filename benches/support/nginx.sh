# Sourced by the bench scripts: `find_nginx` sets `nginx_bin`, installing
# Debian's nginx (with sudo when not root) when none is on the machine.
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

find_nginx() {
    nginx_bin=$(command -v nginx || true)
    [ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx
    if [ -z "$nginx_bin" ]; then
        echo "== installing nginx (apt)"
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light ||
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx
        nginx_bin=/usr/sbin/nginx
    fi
}
