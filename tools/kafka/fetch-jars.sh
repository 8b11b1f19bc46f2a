#!/usr/bin/env bash
# Fetch the Apache Kafka broker jars (see pom.xml) into .cache/kafka/libs, or $MEDIAGRID_KAFKA_LIBS.
# Idempotent: does nothing when the jar of the pinned Kafka version is already there. Maven's ~/.m2
# cache makes a refetch cheap. The jars land in a temporary sibling directory first and the kafka jar
# (the "already there" marker) moves last, so an interrupted run never looks complete.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
pom="$here/pom.xml"
libs="${MEDIAGRID_KAFKA_LIBS:-$root/.cache/kafka/libs}"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"

marker="kafka_2.13-$version.jar"
if [[ -f "$libs/$marker" ]]; then
    echo "kafka jars: $version already in $libs"
    exit 0
fi

command -v mvn >/dev/null || { echo "kafka jars: mvn not found (install Maven, e.g. apt-get install maven)" >&2; exit 1; }
mkdir -p "$(dirname "$libs")"
staging="$(mktemp -d "$(dirname "$libs")/.libs-staging.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
# Maven's output is kept for failures only (even -q -B leaves terminal escape codes behind).
if ! out="$(mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$staging" 2>&1)"; then
    printf '%s\n' "$out" >&2
    echo "kafka jars: mvn failed (see above); is Maven Central reachable?" >&2
    exit 1
fi
# Replace only jars (an older Kafka's jars on the same classpath would clash); other files stay.
mkdir -p "$libs"
rm -f "$libs"/*.jar
find "$staging" -name '*.jar' ! -name "$marker" -exec mv -t "$libs" {} +
mv "$staging/$marker" "$libs/"
echo "kafka jars: fetched $version into $libs ($(find "$libs" -name '*.jar' | wc -l) jars)"
