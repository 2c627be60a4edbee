# lib_e2e.sh: helpers sourced by the shell end-to-end tests (tests/e2e_*.sh); not a test itself.

png_size() { # prints "W H" of a PNG (IHDR width and height, big-endian at byte 16)
  local b
  b=$(od -An -tu1 -j16 -N8 "$1" | tr -s ' ')
  set -- $b
  echo "$(( ($1 << 24) | ($2 << 16) | ($3 << 8) | $4 )) $(( ($5 << 24) | ($6 << 16) | ($7 << 8) | $8 ))"
}
