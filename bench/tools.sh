# bench/tools.sh — sourced by bench/run.sh and bench/scale/run.sh: installs the Debian packages the
# side-by-side benchmarks need (Groonga with TokenMecab and its UTF-8 IPADIC, wrk, time, curl), only
# those missing, and prints Groonga's version.
need=()
command -v groonga >/dev/null || need+=(groonga-bin)
[ -e /usr/lib/x86_64-linux-gnu/groonga/plugins/tokenizers/mecab.so ] || ls /usr/lib/*/groonga/plugins/tokenizers/mecab.so >/dev/null 2>&1 || need+=(groonga-tokenizer-mecab)
[ -d /var/lib/mecab/dic/ipadic-utf8 ] || need+=(mecab-ipadic-utf8)
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/bin/time ] || need+=(time)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}" ||
    { apt-get -o DPkg::Lock::Timeout=600 update -q &&
      apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${need[@]}"; }
fi
groonga --version | head -1
