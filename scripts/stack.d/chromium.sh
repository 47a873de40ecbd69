# shellcheck shell=bash
# Debian's chromium, the browser the console's tests drive through playwright-core (which never
# downloads a browser of its own). Not a server: installed when missing, nothing to start.

# Prints the path of a chromium binary, or fails.
find_chromium() {
  local candidate
  for candidate in chromium chromium-browser; do
    command -v "$candidate" && return 0
  done
  return 1
}

need_chromium() {
  find_chromium >/dev/null || apt_install chromium
}
