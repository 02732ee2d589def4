#!/usr/bin/env bash
# Restores one lifeboat snapshot (format lifeboat-snapshot/3, or the older lifeboat-snapshot/2 and
# lifeboat-snapshot/1) from a backup bucket into a local
# directory, with nothing but the AWS CLI and standard Unix tools. It follows, step by step, the
# section "Restore by hand with the AWS CLI and standard Unix tools" of docs/snapshot-format.md.
#
#   docs/restore-by-hand.sh <bucket> <instanceId> <outDir> [snapshotId]
#
#   bucket      a backup bucket of one replica region, e.g. lifeboat-backup-us-west-2
#   instanceId  e.g. petstore
#   outDir      where the objects go, as <outDir>/<key>; created if missing
#   snapshotId  e.g. 20261125T193000Z; default: the newest committed snapshot in that bucket
#
# Needs: bash 4.4+, aws (CLI v1 or v2), jq 1.6+, and GNU coreutils/gzip: tail, head, cat,
# gunzip, sha256sum, md5sum. Credentials and region come from the usual AWS CLI settings.
# AWS_ENDPOINT_URL, when set, is passed on as --endpoint-url, because AWS CLI v1 releases older
# than botocore 1.31 do not read that variable themselves.
#
# Environment:
#   LIFEBOAT_ALLOW_UNCOMMITTED=1  restore a named snapshot even though it has no commit marker
#
# Every check happens before anything is written to <outDir>: pack hashes, chunk hashes, object
# SHA-256 and MD5, and the manifest's config digest. Objects are rebuilt in a scratch directory
# and copied into <outDir> only when all of them passed. On any problem the script names it on
# stderr (chunk id, pack key or object key, with the objects affected), writes nothing to
# <outDir> and exits 1. Files in <outDir> that the snapshot does not hold are left alone.
#
# Exit status: 0 restored; 1 integrity problem; 2 usage, tool or AWS error.

set -eu

FORMAT='lifeboat-snapshot/3'
FORMAT_V2='lifeboat-snapshot/2'
FORMAT_V1='lifeboat-snapshot/1'
LAYER_FORMAT_V2='lifeboat-layer/2'
ENTRIES_FORMAT='lifeboat-entries/3'
LOCATIONS_FORMAT='lifeboat-locations/3'
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
EMPTY_MD5=d41d8cd98f00b204e9800998ecf8427e

die() {
  echo "restore-by-hand: $*" >&2
  exit 2
}

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  sed -n '6,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
bucket=$1
instance=$2
out=$3
snapshot=${4:-}
prefix="instances/$instance"

for tool in aws jq tail head cat gunzip sha256sum md5sum; do
  command -v "$tool" >/dev/null || die "needs $tool on the PATH"
done

# Every AWS CLI call goes through here, so that AWS_ENDPOINT_URL works with any CLI version.
aws_cli() {
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"
  else
    aws "$@"
  fi
}

here=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/lifeboat-restore.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/packs" "$work/chunks" "$work/staged" "$work/layers"
cd "$work"
# From here on, paths are relative to the scratch directory:
#   commits.json  root.json  layers/<n>.json (format 3: also <n>.entries.json, <n>.locations.json)
#   manifest.json  packs/<packId>.pack
#   chunks/<chunkId>  staged/<key>
#   problems      one line per integrity problem found; empty means all is well
: >problems
: >bad-chunks # <chunkId><TAB><what is wrong>, formatted into problems at the end of step 5
: >missing-packs

# --- Step 1: pick the snapshot -----------------------------------------------------------------
# A snapshot exists for readers only once instances/<id>/commits/<snapshotId>.json exists.

aws_cli s3api list-objects-v2 --bucket "$bucket" --prefix "$prefix/commits/" --output json \
  >commits.json || die "cannot list s3://$bucket/$prefix/commits/"
jq -r --arg p "$prefix/commits/" '
  [.Contents[]?.Key | select(startswith($p)) | ltrimstr($p)
   | select(test("^[0-9]{8}T[0-9]{6}Z\\.json$")) | rtrimstr(".json")]
  | sort[]' commits.json >committed.txt

if [ -z "$snapshot" ]; then
  # Snapshot ids sort in time order, so the newest is the last.
  snapshot=$(tail -n 1 committed.txt)
  [ -n "$snapshot" ] || die "no committed snapshot of $instance in s3://$bucket/$prefix/commits/"
else
  [[ $snapshot =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || die "not a snapshot id: $snapshot"
  if ! grep -qx "$snapshot" committed.txt; then
    [ "${LIFEBOAT_ALLOW_UNCOMMITTED:-}" = 1 ] ||
      die "$snapshot has no commit marker in s3://$bucket/$prefix/commits/" \
        "(LIFEBOAT_ALLOW_UNCOMMITTED=1 restores it anyway)"
    echo "restore-by-hand: warning: $snapshot is not committed in s3://$bucket" >&2
  fi
fi
echo "snapshot $snapshot of $instance from s3://$bucket" >&2

# --- Step 2: the root, and for formats 2 and 3 its layers, applied into one manifest ----------

aws_cli s3 cp --only-show-errors "s3://$bucket/$prefix/snapshots/$snapshot.json" root.json ||
  die "cannot download s3://$bucket/$prefix/snapshots/$snapshot.json"

if ! jq -e --arg f "$FORMAT" --arg f2 "$FORMAT_V2" --arg f1 "$FORMAT_V1" --arg i "$instance" \
  --arg s "$snapshot" '
  (.format == $f or .format == $f2 or .format == $f1) and .instanceId == $i and .snapshotId == $s' \
  root.json >/dev/null 2>&1; then
  echo "bad-manifest $prefix/snapshots/$snapshot.json:" \
    "not a $FORMAT (or $FORMAT_V2, $FORMAT_V1) snapshot of $instance $snapshot" >&2
  exit 1
fi
root_format=$(jq -r .format root.json)

if [ "$root_format" = "$FORMAT_V1" ]; then
  # Format 1: the root is the whole manifest.
  cp root.json manifest.json
else
  # Formats 2 and 3: the objects are in layers. A format-2 layer is one gzip member in a pack;
  # a format-3 layer is two, its entries (objects and deleted keys) and its locations (chunk
  # index), each named by the SHA-256 of its JSON. Get the packs holding them in one call,
  # check each pack, cut and check each member, then apply the layers in order: drop "deleted"
  # keys, then add or replace "objects".
  if ! jq -e --arg f3 "$FORMAT" '
      def ref: (.id | type) == "string" and (.id | test("^[0-9a-f]{64}$")) and
        (.pack | type) == "string" and (.pack | test("^[0-9a-f]{64}$")) and
        ([.offset, .length, .size] | all(type == "number" and . >= 0 and . == floor));
      .format as $f
      | (.layers | type) == "array" and (.layers | length) > 0 and (.layers | all(
          if $f == $f3 then (.entries | ref) and (.locations | ref) else ref end))
      and (.packs | type) == "array"' root.json >/dev/null 2>&1; then
    echo "bad-manifest $prefix/snapshots/$snapshot.json: malformed layers or packs" >&2
    exit 1
  fi
  # One line per member: <layer n> <kind> <id> <pack> <offset> <length>, kind being "layer"
  # (format 2), or "entries" and "locations" (format 3).
  if [ "$root_format" = "$FORMAT_V2" ]; then
    jq -r '.layers | to_entries[]
      | "\(.key) layer \(.value.id) \(.value.pack) \(.value.offset) \(.value.length)"' \
      root.json >members.txt
  else
    jq -r '.layers | to_entries[] | .key as $n | .value | (.entries, .locations) as $m
      | "\($n) \(if $m == .entries then "entries" else "locations" end) \($m.id) \($m.pack) \($m.offset) \($m.length)"' \
      root.json >members.txt
  fi
  cut -d ' ' -f 4 members.txt | sort -u >layer-packs.txt
  includes=()
  while read -r pack; do includes+=(--include "$pack.pack"); done <layer-packs.txt
  aws_cli s3 cp --only-show-errors --recursive "s3://$bucket/$prefix/packs/" packs/ \
    --exclude '*' "${includes[@]}" ||
    die "cannot download the metadata packs from s3://$bucket/$prefix/packs/"
  layer_files=()
  while read -r n kind id pack offset length; do
    case $kind in
    layer) file="layers/$n.json" want=$LAYER_FORMAT_V2 holds="metadata layer $id"
      check='(.objects | type) == "array" and (.chunks | type) == "object" and (.deleted | type) == "array"' ;;
    entries) file="layers/$n.entries.json" want=$ENTRIES_FORMAT holds="metadata entries $id"
      check='(.objects | type) == "array" and (.deleted | type) == "array"' ;;
    *) file="layers/$n.locations.json" want=$LOCATIONS_FORMAT holds="metadata locations $id"
      check='(.chunks | type) == "object"' ;;
    esac
    if [ ! -f "packs/$pack.pack" ]; then
      echo "missing-pack $prefix/packs/$pack.pack: pack object is absent; it holds $holds" >>problems
    elif ! echo "$pack  packs/$pack.pack" | sha256sum -c --status; then
      echo "corrupt-pack $prefix/packs/$pack.pack: pack bytes do not match the pack id; it holds $holds" >>problems
    elif ! tail -c "+$((offset + 1))" "packs/$pack.pack" | head -c "$length" |
      gunzip -c >"$file" 2>/dev/null; then
      echo "bad-manifest $kind $id in $prefix/packs/$pack.pack: does not decompress" >>problems
    elif ! echo "$id  $file" | sha256sum -c --status; then
      echo "bad-manifest $kind $id in $prefix/packs/$pack.pack: does not match its SHA-256" >>problems
    elif ! jq -e --arg f "$want" ".format == \$f and $check" "$file" >/dev/null 2>&1; then
      echo "bad-manifest $kind $id in $prefix/packs/$pack.pack: not a $want member" >>problems
    fi
  done <members.txt
  if [ -s problems ]; then
    cat problems >&2
    echo "restore-by-hand: the snapshot's metadata cannot be read; nothing was written to $out" >&2
    exit 1
  fi
  n_layers=$(jq '.layers | length' root.json)
  for ((n = 0; n < n_layers; n++)); do
    if [ "$root_format" = "$FORMAT" ]; then
      # Format 3: a layer is its entries plus its locations.
      jq -s '{objects: .[0].objects, deleted: .[0].deleted, chunks: .[1].chunks}' \
        "layers/$n.entries.json" "layers/$n.locations.json" >"layers/$n.json"
    fi
    layer_files+=("layers/$n.json")
  done
  # Later layers win. Only the chunks of the resulting objects are kept in the index.
  jq -s --slurpfile root root.json '
    (reduce .[] as $l ({objects: {}, chunks: {}};
      .objects |= (reduce $l.deleted[] as $k (.; del(.[$k])))
      | .objects += ($l.objects | map({key: .key, value: .}) | from_entries)
      | .chunks += $l.chunks)) as $s
    | $root[0] + {
        objects: ($s.objects | to_entries | sort_by(.key) | map(.value)),
        chunks: ([$s.objects[].chunks[]] | unique
                 | map({key: ., value: $s.chunks[.]}) | from_entries)
      } | del(.layers, .packs, .retainUntil)' "${layer_files[@]}" >manifest.json
  if ! jq -e '(.objects | length) == .totals.objects
      and ((.objects | map(.size) | add // 0) == .totals.bytes)' manifest.json >/dev/null; then
    echo "bad-manifest $prefix/snapshots/$snapshot.json: totals do not match the objects the layers hold" >&2
    exit 1
  fi
fi

if ! jq -e '(.objects | type) == "array" and (.chunks | type) == "object"' manifest.json \
  >/dev/null 2>&1; then
  echo "bad-manifest $prefix/snapshots/$snapshot.json:" \
    "not a $FORMAT manifest of $instance $snapshot" >&2
  exit 1
fi

# Shape checks for what follows: ids become file names, numbers go into shell arithmetic and keys
# become paths under <outDir>. Every line printed is a problem, and any of them stops the restore.
jq -r --arg e256 "$EMPTY_SHA256" --arg e5 "$EMPTY_MD5" '
  def hex($n): type == "string" and test("^[0-9a-f]{\($n)}$");
  def count: type == "number" and . >= 0 and . == floor;
  # The parent directories of a key: "a/b/c" gives "a" and "a/b".
  def parents: split("/") as $s | range(1; $s | length) | $s[:.] | join("/");
  .chunks as $at
  | ([.objects[].key | strings | parents] | map({(.): true}) | add // {}) as $dirs
  | (if .configDigest | hex(64) then empty else "bad-manifest configDigest: not a SHA-256" end),
    (.objects[] | .key as $k
      | if ($k | type) != "string" or $k == "" then "bad-manifest: an object has no key"
        elif ($k | explode | any(. < 32 or . == 127))
          then "bad-key \($k | tojson): has a control character"
        elif ($k | startswith("/")) then "bad-key \($k): absolute path"
        elif ($k | rtrimstr("/") | split("/") | any(. == "" or . == "." or . == ".."))
          then "bad-key \($k): empty, . or .. path segment"
        elif ($k | endswith("/")) and (.size != 0 or .sha256 != $e256 or .md5 != $e5)
          then "bad-key \($k): ends with / but is not empty"
        elif ($k | endswith("/") | not) and $dirs[$k]
          then "bad-key \($k): both a file and a directory"
        elif (.size | count | not) or (.sha256 | hex(64) | not) or (.md5 | hex(32) | not)
          or (.chunks | type) != "array" or (.chunks | all(hex(64)) | not)
          then "bad-manifest \($k): malformed size, sha256, md5 or chunks"
        else (.chunks[] | select($at[.] == null)
              | "bad-manifest chunk \(.) of \($k): chunk has no location in the manifest")
        end),
    (.chunks | to_entries[]
      | select((.key | hex(64) | not) or (.value.pack | hex(64) | not)
          or (.value.offset | count | not) or (.value.length | count | not)
          or (.value.size | count | not))
      | "bad-manifest chunk \(.key): malformed location")' manifest.json >problems
if [ -s problems ]; then
  cat problems >&2
  echo "restore-by-hand: the manifest cannot be restored; nothing was written to $out" >&2
  exit 1
fi

# The config digest: SHA-256 over "<key><TAB><sha256><LF>" lines, keys in UTF-16 code unit order
# (JavaScript's string order; it differs from byte order only for characters above U+E000).
digest=$(jq -r '.configDigest' manifest.json)
jq -j '
  def utf16: explode
    | map(if . > 65535 then (. - 65536) as $c | (55296 + ($c / 1024 | floor)), (56320 + $c % 1024)
          else . end);
  .objects | sort_by(.key | utf16) | map("\(.key)\t\(.sha256)\n") | add // ""' \
  manifest.json >digest-lines
if ! echo "$digest  digest-lines" | sha256sum -c --status; then
  echo "bad-manifest configDigest: $digest does not match the objects listed" >>problems
fi

# --- Step 3: the packs, downloaded once each ---------------------------------------------------
# One CLI call fetches every pack the manifest names: not one call per pack, let alone per chunk.

jq -r '[.chunks[].pack] | unique[]' manifest.json >packs.txt
includes=()
while read -r pack; do includes+=(--include "$pack.pack"); done <packs.txt
if [ ${#includes[@]} -gt 0 ]; then
  aws_cli s3 cp --only-show-errors --recursive "s3://$bucket/$prefix/packs/" packs/ \
    --exclude '*' "${includes[@]}" ||
    die "cannot download the packs from s3://$bucket/$prefix/packs/"
fi
# A pack's id is the SHA-256 of its bytes.
while read -r pack; do
  if [ ! -f "packs/$pack.pack" ]; then
    echo "$pack" >>missing-packs
  elif ! echo "$pack  packs/$pack.pack" | sha256sum -c --status; then
    # Not the end of it: step 5 says which chunks of the pack are damaged.
    echo "corrupt-pack $prefix/packs/$pack.pack: pack bytes do not match the pack id" >>problems
  fi
done <packs.txt

# --- Step 4: cut every chunk out of its pack and gunzip it -------------------------------------
# Bytes offset .. offset+length-1 of the pack are one complete gzip member.

jq -r '.chunks | to_entries[] | "\(.key) \(.value.pack) \(.value.offset) \(.value.length)"' \
  manifest.json >chunks.txt
while read -r id pack offset length; do
  [ -f "packs/$pack.pack" ] || continue # a missing pack: reported in step 5
  if ! tail -c "+$((offset + 1))" "packs/$pack.pack" | head -c "$length" |
    gunzip -c >"chunks/$id" 2>/dev/null; then
    rm -f "chunks/$id"
    printf '%s\tdoes not decompress\n' "$id" >>bad-chunks
  fi
done <chunks.txt

# --- Step 5: check every chunk's SHA-256 (its id) ----------------------------------------------

jq -r '.chunks | keys[] | "\(.)  \(.)"' manifest.json >chunk-sums
(cd chunks && sha256sum -c --quiet ../chunk-sums 2>/dev/null) >chunk-check || true
while IFS= read -r line; do
  case $line in
  *': FAILED') # (": FAILED open or read" is a chunk already reported as missing or damaged)
    id=${line%: FAILED}
    rm -f "chunks/$id"
    printf '%s\tdoes not match its SHA-256\n' "$id" >>bad-chunks
    ;;
  esac
done <chunk-check

# Name each damaged chunk or missing pack with the objects that need it.
jq -r --rawfile bad bad-chunks --rawfile missing missing-packs --arg prefix "$prefix" '
  def lines: split("\n") | map(select(. != ""));
  (reduce .objects[] as $o ({}; reduce $o.chunks[] as $c (.; .[$c] += [$o.key]))) as $usedBy
  | def users(ids): [ids | ($usedBy[.] // [])[]] | unique | join(", ");
  .chunks as $at
  | ($bad | lines[] | split("\t") as [$id, $why]
      | "corrupt-chunk \($id) of \(users($id)): chunk in pack \($at[$id].pack) \($why)"),
    ($missing | lines[] as $pack
      | [$at | to_entries[] | select(.value.pack == $pack) | .key] as $ids
      | "missing-pack \($prefix)/packs/\($pack).pack: pack object is absent;"
        + " needed by \(users($ids[]))")
  ' manifest.json >>problems

# --- Step 6: concatenate each object's chunks, in order ----------------------------------------

jq -r '.objects[] | [.key, .sha256, .md5, (.chunks | join(" "))] | join("\t")' manifest.json \
  >objects.tsv
: >object-sha256
: >object-md5
while IFS=$'\t' read -r key sha256 md5 ids; do
  if [[ $key == */ ]]; then # an S3 "folder" marker (always empty): a directory
    mkdir -p "staged/$key"
    continue
  fi
  files=()
  for id in $ids; do files+=("chunks/$id"); done # $ids unquoted: space-separated hex ids
  for file in "${files[@]}"; do
    [ -f "$file" ] || continue 2 # a damaged or missing chunk: reported in step 5
  done
  case $key in */*) mkdir -p "staged/${key%/*}" ;; esac
  : >"staged/$key"
  [ ${#files[@]} -eq 0 ] || cat "${files[@]}" >"staged/$key"
  echo "$sha256  staged/$key" >>object-sha256
  echo "$md5  staged/$key" >>object-md5
done <objects.tsv

# --- Step 7: check every object's SHA-256 and MD5 ----------------------------------------------

# sha256sum and md5sum print "staged/<key>: FAILED" for each mismatch.
sha256sum -c --quiet object-sha256 >sha256-check 2>/dev/null || true
md5sum -c --quiet object-md5 >md5-check 2>/dev/null || true
for sum in sha256 md5; do
  while IFS= read -r line; do
    key=${line#staged/}
    echo "corrupt-object ${key%: FAILED*}: reassembled body does not match its $sum" >>problems
  done <"$sum-check"
done

# --- Step 8: write, only if everything passed --------------------------------------------------

if [ -s problems ]; then
  cat problems >&2
  echo "restore-by-hand: $(wc -l <problems) problem(s) in snapshot $snapshot;" \
    "nothing was written to $out" >&2
  exit 1
fi
cd "$here"
mkdir -p "$out"
cp -R "$work/staged/." "$out/"
echo "restored $(wc -l <"$work/objects.tsv") objects of $instance snapshot $snapshot into $out" >&2
echo "configDigest $digest" >&2
