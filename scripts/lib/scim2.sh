# shellcheck shell=bash
# python's scim2-server (from PyPI) for scripts/test.sh (sourced, not run): the third-party SCIM
# service provider the sync-out tests push to (tests/api/sync_third_party.rs and the fault tests).
#
# The caller defines log(). Then:
#   scim2_ensure VENV   make sure VENV (a python venv) holds scim2-server $SCIM2_VERSION, creating
#                       and installing it on first use (one download from PyPI); sets
#                       TEST_SCIM2_SERVER to its executable, or leaves it empty and says why
#                       (the tests that need it then fail, naming what is missing).

# The version the tests were written against: pinned, so a new release cannot change them.
SCIM2_VERSION="0.8.3"

# The installed version of scim2-server in venv $1, or nothing.
scim2_installed_version() {
  [ -x "$1/bin/python" ] || return 0
  "$1/bin/python" -c 'import importlib.metadata as m; print(m.version("scim2-server"))' 2>/dev/null || true
}

scim2_ensure() {
  local venv="$1"
  TEST_SCIM2_SERVER=""
  if [ "$(scim2_installed_version "$venv")" = "$SCIM2_VERSION" ] && [ -x "$venv/bin/scim2-server" ]; then
    TEST_SCIM2_SERVER="$venv/bin/scim2-server"
    return 0
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    log "warning: python3 not found: the tests against scim2-server will fail (Debian: apt-get install python3-venv)"
    return 0
  fi
  log "installing scim2-server $SCIM2_VERSION from PyPI into $venv (once)"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >&2; then
    log "warning: 'python3 -m venv' failed: the tests against scim2-server will fail (Debian: apt-get install python3-venv)"
    rm -rf "$venv"
    return 0
  fi
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==$SCIM2_VERSION" >&2; then
    log "warning: pip could not install scim2-server $SCIM2_VERSION (is PyPI reachable?): the tests against it will fail"
    rm -rf "$venv"
    return 0
  fi
  TEST_SCIM2_SERVER="$venv/bin/scim2-server"
}
