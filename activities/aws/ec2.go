package aws

import (
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// idemTags are the tags every created resource carries.
func idemTags(resource ec2types.ResourceType, key, name string) []ec2types.TagSpecification {
	tags := []ec2types.Tag{{Key: awssdk.String(TagKey), Value: awssdk.String(shortHash(key))}}
	if name != "" {
		tags = append(tags, ec2types.Tag{Key: awssdk.String("Name"), Value: awssdk.String(name)})
	}
	return []ec2types.TagSpecification{{ResourceType: resource, Tags: tags}}
}

func idemFilter(key string) ec2types.Filter {
	return ec2types.Filter{Name: awssdk.String("tag:" + TagKey), Values: []string{shortHash(key)}}
}

// The batch calls of EC2 (delete endpoints and services, accept or reject
// endpoint connections) report per-item failures beside a success.

// unsuccessful turns the first failed item of a batch EC2 call into an
// error; items whose resource does not exist are ignored when okMissing.
func (s *session) unsuccessful(what string, items []ec2types.UnsuccessfulItem, okMissing bool) error {
	for _, it := range items {
		if it.Error == nil {
			continue
		}
		code := awssdk.ToString(it.Error.Code)
		if okMissing && (len(code) > 9 && code[len(code)-9:] == ".NotFound") {
			continue
		}
		return s.classify(what, &itemError{code: code, msg: awssdk.ToString(it.Error.Message), id: awssdk.ToString(it.ResourceId)})
	}
	return nil
}

// itemError is a failed item of a batch call, as a smithy.APIError.
type itemError struct{ code, msg, id string }

func (e *itemError) Error() string { return fmt.Sprintf("%s: %s: %s", e.id, e.code, e.msg) }

// ErrorCode implements smithy.APIError.
func (e *itemError) ErrorCode() string { return e.code }

// ErrorMessage implements smithy.APIError.
func (e *itemError) ErrorMessage() string { return e.msg }

// ErrorFault implements smithy.APIError.
func (e *itemError) ErrorFault() smithy.ErrorFault { return smithy.FaultUnknown }
