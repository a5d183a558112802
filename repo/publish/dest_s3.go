package publish

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// S3Options locate an S3 destination. Credentials come from the standard
// AWS environment and shared configuration (AWS_ACCESS_KEY_ID,
// AWS_PROFILE, ~/.aws/config, ...).
type S3Options struct {
	Bucket, Prefix string
	// Endpoint is an S3-compatible server's URL (MinIO, Ceph, R2, moto);
	// it switches to path-style addressing. Empty means AWS itself.
	Endpoint string
	Region   string // empty: from the AWS configuration (us-east-1 with Endpoint)
	// RequestTimeout bounds each request (0: DefaultRequestTimeout).
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

// ParseS3URL splits s3://BUCKET/PREFIX; ok is false for anything that is
// not an s3:// URL (a directory).
func ParseS3URL(s string) (bucket, prefix string, ok bool, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", false, nil
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", true, fmt.Errorf("%q names no bucket: write s3://BUCKET/PREFIX", s)
	}
	prefix = strings.Trim(prefix, "/")
	for _, c := range strings.Split(prefix, "/") {
		if prefix != "" && (c == "" || c == "." || c == "..") {
			return "", "", true, fmt.Errorf("%q: the prefix has an empty, \".\" or \"..\" component", s)
		}
	}
	return bucket, prefix, true, nil
}

// S3Destination publishes to a bucket prefix through the S3 API.
type S3Destination struct {
	client  *s3.Client
	bucket  string
	prefix  string // without slashes at either end; "" for the bucket root
	timeout time.Duration
	log     *slog.Logger
	// noConditional is set once the server refused If-None-Match: from
	// then on archives are created after a HEAD finds no object.
	noConditional bool
}

// NewS3Destination configures the client: checksums only where an
// operation requires them (aws-sdk-go-v2 sends CRC32 trailers by default
// since 2025, which S3-compatible servers may refuse), path-style URLs
// for a custom endpoint, and the standard credential chain.
func NewS3Destination(ctx context.Context, o S3Options) (*S3Destination, error) {
	loads := []func(*config.LoadOptions) error{
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.ResponseHeaderTimeout = time.Minute
		})),
	}
	if o.Region != "" {
		loads = append(loads, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		if o.Endpoint == "" {
			return nil, errors.New("s3: no region: set AWS_REGION or region in the AWS configuration")
		}
		cfg.Region = "us-east-1"
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3: endpoint %q is not an http:// or https:// URL", o.Endpoint)
		}
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			so.UsePathStyle = true
		}
	})
	timeout := o.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	return &S3Destination{client: client, bucket: o.Bucket, prefix: o.Prefix, timeout: timeout, log: logger(o.Logger)}, nil
}

func (d *S3Destination) String() string {
	if d.prefix == "" {
		return "s3://" + d.bucket
	}
	return "s3://" + d.bucket + "/" + d.prefix
}

func (d *S3Destination) key(rel string) string {
	if d.prefix == "" {
		return rel
	}
	return d.prefix + "/" + rel
}

// request gives one request its deadline.
func (d *S3Destination) request(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

// List pages through the prefix; ETags come without their quotes.
func (d *S3Destination) List(ctx context.Context) (map[string]Remote, error) {
	out := map[string]Remote{}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(d.bucket)}
	if d.prefix != "" {
		in.Prefix = aws.String(d.prefix + "/")
	}
	pages := s3.NewListObjectsV2Paginator(d.client, in)
	for pages.HasMorePages() {
		rctx, cancel := d.request(ctx)
		page, err := pages.NextPage(rctx)
		cancel()
		if err != nil {
			return nil, explain(err, d.bucket)
		}
		for _, obj := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(obj.Key), d.prefix+"/")
			if d.prefix == "" {
				rel = aws.ToString(obj.Key)
			}
			out[rel] = Remote{Size: aws.ToInt64(obj.Size), ETag: strings.Trim(aws.ToString(obj.ETag), `"`)}
		}
	}
	return out, nil
}

// Stat is a HEAD: the sha256 is the metadata Put recorded.
func (d *S3Destination) Stat(ctx context.Context, rel string) (*Remote, error) {
	rctx, cancel := d.request(ctx)
	defer cancel()
	out, err := d.client.HeadObject(rctx, &s3.HeadObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(rel))})
	if httpStatus(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, explain(err, d.bucket)
	}
	return &Remote{Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), SHA256: out.Metadata["sha256"]}, nil
}

// Put uploads in one request with Content-MD5 (the server checks the
// bytes it stored) and the sha256 in the metadata. createOnly sends
// If-None-Match: * so an object that appeared meanwhile is not replaced.
func (d *S3Destination) Put(ctx context.Context, obj *localObject, createOnly bool) error {
	if createOnly && d.noConditional {
		r, err := d.Stat(ctx, obj.Key)
		if err != nil {
			return err
		}
		if r != nil {
			return errObjectExists
		}
		createOnly = false
	}
	err := d.put(ctx, obj, createOnly)
	switch st := httpStatus(err); {
	case createOnly && (st == http.StatusPreconditionFailed || st == http.StatusConflict):
		return errObjectExists
	case createOnly && st == http.StatusNotImplemented:
		d.log.Info("the server does not support conditional writes: checking each archive with HEAD first", "destination", d.String())
		d.noConditional = true
		return d.Put(ctx, obj, true)
	}
	return err
}

func (d *S3Destination) put(ctx context.Context, obj *localObject, createOnly bool) error {
	f, err := os.Open(obj.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := hex.DecodeString(obj.MD5)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket:        aws.String(d.bucket),
		Key:           aws.String(d.key(obj.Key)),
		Body:          f,
		ContentLength: aws.Int64(obj.Size),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sum)),
		ContentType:   aws.String(obj.ContentType()),
		CacheControl:  aws.String(obj.CacheControl()),
		Metadata:      map[string]string{"sha256": obj.SHA256},
	}
	if createOnly {
		in.IfNoneMatch = aws.String("*")
	}
	rctx, cancel := d.request(ctx)
	defer cancel()
	if _, err := d.client.PutObject(rctx, in); err != nil {
		return explain(err, d.bucket)
	}
	return nil
}

// Delete removes one object.
func (d *S3Destination) Delete(ctx context.Context, rel string) error {
	rctx, cancel := d.request(ctx)
	defer cancel()
	_, err := d.client.DeleteObject(rctx, &s3.DeleteObjectInput{Bucket: aws.String(d.bucket), Key: aws.String(d.key(rel))})
	if err != nil && httpStatus(err) != http.StatusNotFound {
		return explain(err, d.bucket)
	}
	return nil
}

// httpStatus is the HTTP status of a failed request, 0 when it got none.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// explain keeps the SDK's error and adds what the usual ones mean.
func explain(err error, bucket string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			return fmt.Errorf("bucket %q does not exist: create it first: %w", bucket, err)
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return fmt.Errorf("the credentials may not write to bucket %q (check AWS_ACCESS_KEY_ID, AWS_PROFILE): %w", bucket, err)
		}
	}
	return err
}
