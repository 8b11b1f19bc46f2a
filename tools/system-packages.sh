#!/usr/bin/env bash
# Installs the Debian packages mediagrid needs that pip cannot bring: a Java runtime and Maven (Apache
# Kafka for CI), ffmpeg (ffprobe checks media the project writes), kcat (an independent Kafka client for tests),
# Chromium (the report's and the player's browser tests), Node.js and npm (hls.js for the player page), with --peers GStreamer (the benchmarks' peer), the DejaVu fonts (overlay graphics, screenshots), Apertium English-Spanish (the speech translation). Only what is missing is installed, and
# only as root; otherwise it names what to install and fails.
set -euo pipefail

declare -A need=(  # command (or a file it needs) -> Debian package(s)
  [java]=default-jre-headless
  [mvn]=maven
  [ffprobe]=ffmpeg
  [kcat]=kcat
  [chromium]=chromium
  [node]=nodejs
  [npm]=npm
  [/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]=fonts-dejavu-core
  [/usr/share/apertium/modes/eng-spa.mode]="apertium apertium-eng-spa"
)
if [ "${1:-}" = "--peers" ]; then  # the benchmarks' peers (perf/peers/): GStreamer with x264 and libav
  need[gst-launch-1.0]="gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
  need[/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstx264.so]="gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad"
  need[/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstlibav.so]=gstreamer1.0-libav
fi
missing=()
for cmd in "${!need[@]}"; do
  # shellcheck disable=SC2206 # a value may name several packages
  command -v "$cmd" >/dev/null 2>&1 || [ -e "$cmd" ] || missing+=(${need[$cmd]})
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
