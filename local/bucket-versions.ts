import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

/**
 * Every version and delete marker of a bucket, one line each (`bucket/key@version etag size`,
 * or `… deleted`): what the drill and the tests compare to prove a bucket was left alone. The
 * buckets are versioned, so even an identical overwrite shows as a new line.
 */
export async function bucketVersionLines(s3: S3Client, bucket: string): Promise<string[]> {
  const out: string[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        KeyMarker: keyMarker,
        VersionIdMarker: versionMarker,
      }),
    );
    for (const v of page.Versions ?? [])
      out.push(`${bucket}/${v.Key}@${v.VersionId} ${v.ETag} ${v.Size}`);
    for (const d of page.DeleteMarkers ?? []) out.push(`${bucket}/${d.Key}@${d.VersionId} deleted`);
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}
