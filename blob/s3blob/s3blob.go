// Package s3blob implements chat.Blobs on an S3-compatible object store
// (Amazon S3, MinIO, Versity's gateway, Ceph's RADOS Gateway, ...), so that
// every node of a cluster reads the attachments any node stored. Only the
// wiring (package app) and tests import it; everything else depends on
// chat.Blobs.
//
// A blob is the object PREFIX+KEY. Put sends a blob that fits in one part
// (8 MiB) as one PUT with its length, and a larger one as a multipart
// upload streamed part by part, so memory stays bounded whatever the size.
// Either way the object appears whole or not at all: S3 publishes an object
// only when its PUT or its multipart completion succeeds, and a failed Put
// aborts its multipart upload. Durability is the store's (S3 and MinIO
// acknowledge a PUT once it is durably stored).
//
// A multipart upload whose node died halfway stays invisible but billed;
// Open aborts those older than StaleUpload, and a bucket lifecycle rule
// (AbortIncompleteMultipartUpload) does the same on the store's side.
package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/parleychat/parley/chat"
)

var _ chat.Blobs = (*Store)(nil)

// PartSize is the size of a multipart upload's parts, and the largest blob
// sent in one PUT. S3 allows 10,000 parts, so a blob may be up to about
// 78 GiB.
const PartSize = 8 << 20

// StaleUpload is the age after which an unfinished multipart upload is
// taken for the remains of a crash. Uploads are bounded well below it.
const StaleUpload = 24 * time.Hour

// Store is a chat.Blobs in an S3 bucket. It is safe for concurrent use, also
// by several processes sharing the bucket.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
}

// Open connects to the bucket that rawURL names, checks that it exists, and
// aborts the multipart uploads under the prefix older than StaleUpload.
//
//	s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION&path_style=true
//
// endpoint is the store's URL (http:// or https://, default
// https://s3.amazonaws.com); region is optional for most stores; path_style
// forces path-style requests (http://host/bucket/key), which MinIO and most
// self-hosted stores want and which is the default for endpoints other than
// Amazon's. Credentials come from the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or MINIO_ROOT_USER and
// MINIO_ROOT_PASSWORD), else from the AWS shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE); never from the URL, which may
// be logged.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, errors.New("s3blob: want s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION")
	}
	if u.User != nil {
		return nil, errors.New("s3blob: credentials do not go in the URL: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	q := u.Query()
	for k := range q {
		if k != "endpoint" && k != "region" && k != "path_style" {
			return nil, fmt.Errorf("s3blob: unknown parameter %q: want endpoint, region or path_style", k)
		}
	}
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
	}
	ep, err := url.Parse(endpoint)
	if err != nil || (ep.Scheme != "http" && ep.Scheme != "https") || ep.Host == "" || strings.Trim(ep.Path, "/") != "" {
		return nil, fmt.Errorf("s3blob: endpoint %q: want http://HOST[:PORT] or https://HOST[:PORT]", endpoint)
	}
	opts := &minio.Options{
		Creds: credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.FileAWSCredentials{},
		}),
		Secure: ep.Scheme == "https",
		Region: q.Get("region"),
	}
	switch q.Get("path_style") {
	case "":
	case "true", "1":
		opts.BucketLookup = minio.BucketLookupPath
	case "false", "0":
		opts.BucketLookup = minio.BucketLookupDNS
	default:
		return nil, fmt.Errorf("s3blob: path_style=%q: want true or false", q.Get("path_style"))
	}
	client, err := minio.New(ep.Host, opts)
	if err != nil {
		return nil, fmt.Errorf("s3blob: %w", err)
	}
	s := New(client, u.Host, strings.TrimPrefix(u.Path, "/"))
	ok, err := client.BucketExists(ctx, s.bucket)
	if err != nil {
		return nil, fmt.Errorf("s3blob: bucket %s at %s: %w", s.bucket, ep.Host, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3blob: bucket %s at %s does not exist", s.bucket, ep.Host)
	}
	if err := s.AbortStaleUploads(ctx, time.Now().Add(-StaleUpload)); err != nil {
		return nil, err
	}
	return s, nil
}

// New returns a Store on a bucket that exists, keeping its blobs under
// prefix, a folder: "a/b" and "a/b/" both name the objects a/b/KEY. Without
// the "/", the objects would be a/bKEY, and AbortStaleUploads would abort
// the uploads of a/b2/ too.
func New(client *minio.Client, bucket, prefix string) *Store {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Store{client: client, bucket: bucket, prefix: prefix}
}

// object returns the object name of key, or EINVALID.
func (s *Store) object(key string) (string, error) {
	if !chat.ValidBlobKey(key) {
		return "", chat.Errorf(chat.EINVALID, "invalid blob key")
	}
	return s.prefix + key, nil
}

// Put stores the blob in one PUT if it fits in PartSize, else as a
// multipart upload.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	name, err := s.object(key)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	var first bytes.Buffer
	n, err := first.ReadFrom(io.LimitReader(r, PartSize+1))
	if err != nil {
		return 0, fmt.Errorf("s3blob: writing %s: %w", key, err)
	}
	if n <= PartSize {
		if _, err := s.client.PutObject(ctx, s.bucket, name, bytes.NewReader(first.Bytes()), n, opts); err != nil {
			return 0, fmt.Errorf("s3blob: writing %s: %w", key, err)
		}
		return n, nil
	}
	opts.PartSize = PartSize
	body := &countingReader{r: io.MultiReader(&first, r)}
	if _, err := s.client.PutObject(ctx, s.bucket, name, body, -1, opts); err != nil {
		// The client aborted the multipart upload; if that failed too,
		// AbortStaleUploads will.
		return 0, fmt.Errorf("s3blob: writing %s: %w", key, errors.Join(body.err, err))
	}
	return body.n, nil
}

// countingReader counts what it yields and keeps the reader's own error, so
// that Put returns the caller's failure (a client that went away) as such,
// whatever the S3 client made of it.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// Open returns the blob under key; ENOTFOUND if there is none.
func (s *Store) Open(ctx context.Context, key string) (chat.Blob, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("s3blob: reading %s: %w", key, err)
	}
	info, err := obj.Stat() // the first GET: its answer is read from next
	if err != nil {
		obj.Close()
		if isNotFound(err) {
			return nil, chat.Errorf(chat.ENOTFOUND, "no such blob")
		}
		return nil, fmt.Errorf("s3blob: reading %s: %w", key, err)
	}
	return &blob{Object: obj, size: info.Size, mod: info.LastModified}, nil
}

func isNotFound(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return true
	}
	return false
}

type blob struct {
	*minio.Object
	size int64
	mod  time.Time
}

func (b *blob) Size() int64        { return b.size }
func (b *blob) ModTime() time.Time { return b.mod }

// Delete removes the blob under key; nothing there is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("s3blob: deleting %s: %w", key, err)
	}
	return nil
}

// AbortStaleUploads aborts the multipart uploads under the prefix started
// before the time: what a node that died in the middle of a Put left.
func (s *Store) AbortStaleUploads(ctx context.Context, before time.Time) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing if we return early
	core := minio.Core{Client: s.client}
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
		if up.Err != nil {
			return fmt.Errorf("s3blob: listing unfinished uploads: %w", up.Err)
		}
		if up.Initiated.Before(before) {
			if err := core.AbortMultipartUpload(ctx, s.bucket, up.Key, up.UploadID); err != nil && !isNotFound(err) {
				return fmt.Errorf("s3blob: aborting an unfinished upload of %s: %w", up.Key, err)
			}
		}
	}
	return nil
}
