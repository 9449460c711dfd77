package aws

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// maxRetryAfter bounds the Retry-After honoured between Temporal attempts.
const maxRetryAfter = 5 * time.Minute

// retryer returns the SDK's standard retryer
// (github.com/aws/aws-sdk-go-v2/aws/retry standard.go: up to
// retry.DefaultMaxAttempts = 3 attempts per call, exponential backoff with
// jitter up to 20 s) with attempts per call, retrying what the SDK retries
// by default (DefaultRetryables: 500/502/503/504, RequestTimeout, the
// throttling codes of DefaultThrottleErrorCodes such as Throttling and
// RequestLimitExceeded, errors marked retryable) except connection errors
// (RetryableConnectionError): a connection reset after the request was sent
// may hide a create that took effect, and creates without a ClientToken
// (peerings, VPC connections) must look up what the earlier attempt made
// before they create again, which only a new activity attempt does (the
// Temporal retry of the Unavailable error classify returns). Each SDK client
// gets its own retryer, so one call's retry-token quota never starves
// another's.
func (a *Actions) retryer() func() awssdk.Retryer {
	n := a.attempts
	return func() awssdk.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = n
			o.Retryables = []retry.IsErrorRetryable{
				retry.NoRetryCanceledError{},
				retry.RetryableError{},
				retry.RetryableHTTPStatusCode{Codes: retry.DefaultRetryableHTTPStatusCodes},
				retry.RetryableErrorCode{Codes: retry.DefaultRetryableErrorCodes},
				retry.RetryableErrorCode{Codes: retry.DefaultThrottleErrorCodes},
			}
		})
	}
}

// isThrottle reports whether an AWS error code asks the caller to slow down
// (retry.DefaultThrottleErrorCodes of aws-sdk-go-v2 aws/retry/standard.go).
func isThrottle(code string) bool {
	_, ok := retry.DefaultThrottleErrorCodes[code]
	return ok
}

// retryAfter returns the Retry-After of a throttled answer (0 when none),
// as whole seconds or an HTTP date (RFC 9110 section 10.2.3).
func retryAfter(err error) time.Duration {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil {
		return 0
	}
	v := re.Response.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, perr := strconv.Atoi(v); perr == nil {
		d = time.Duration(n) * time.Second
	} else if at, perr := http.ParseTime(v); perr == nil {
		d = time.Until(at)
	}
	return min(max(d, 0), maxRetryAfter)
}
