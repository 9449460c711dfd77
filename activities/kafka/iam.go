package kafka

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-msk-iam-sasl-signer-go/signer"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"go.temporal.io/sdk/temporal"

	"github.com/topoflow/topoflow/plan"
)

// MechanismMSKIAM is the sasl.mechanism of MSK IAM access control.
const MechanismMSKIAM = "AWS_MSK_IAM"

// AWSCredentialsFunc resolves an AWS account's credentials provider and
// region inside the worker (never into history or logs).
type AWSCredentialsFunc func(ctx context.Context, account string) (aws.CredentialsProvider, string, error)

// mskIAM returns the AWS_MSK_IAM mechanism of an account: SASL/OAUTHBEARER
// whose token is a SigV4-presigned kafka-cluster:Connect URL made by AWS's
// own signer (github.com/aws/aws-msk-iam-sasl-signer-go, signer.GenerateAuthTokenFromCredentialsProvider),
// as MSK's IAM listeners expect from non-Java clients
// (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html,
// "Configure clients for IAM access control"). A token is made per
// connection (and per re-authentication), so it never outlives its 15
// minutes. The region is the brokers' (…kafka.<region>.amazonaws.com in the
// bootstrap names), else the account's.
func (v *verifier) mskIAM(ctx context.Context, account string, bootstrap []string) (sasl.Mechanism, error) {
	if v.opts.AWSCredentials == nil {
		return nil, invalid(fmt.Errorf("%s: sasl %s requested but the worker has no AWS credential resolver", ActionVerify, MechanismMSKIAM))
	}
	if account == "" {
		return nil, invalid(fmt.Errorf("%s: sasl %s requested but the step names no account", ActionVerify, MechanismMSKIAM))
	}
	prov, region, err := v.opts.AWSCredentials(ctx, account)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s: resolve AWS credentials of account %s: %v", ActionVerify, account, err), plan.ErrUnauthorized, nil)
	}
	if r := brokerRegion(bootstrap); r != "" {
		region = r
	}
	if region == "" {
		return nil, invalid(fmt.Errorf("%s: sasl %s: account %s has no region and the bootstrap names none", ActionVerify, MechanismMSKIAM, account))
	}
	return oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
		tok, _, err := signer.GenerateAuthTokenFromCredentialsProvider(ctx, region, prov)
		if err != nil {
			return oauth.Auth{}, fmt.Errorf("sign an MSK IAM token as account %s in %s: %w", account, region, err)
		}
		return oauth.Auth{Token: tok}, nil
	}), nil
}

// brokerRegion returns the region of MSK broker names
// (b-N….kafka.<region>.amazonaws.com), "" when the bootstrap has none.
func brokerRegion(bootstrap []string) string {
	for _, b := range bootstrap {
		host, _, err := net.SplitHostPort(b)
		if err != nil {
			continue
		}
		if rest, ok := strings.CutSuffix(host, ".amazonaws.com"); ok {
			if i := strings.LastIndex(rest, ".kafka."); i >= 0 {
				return rest[i+len(".kafka."):]
			}
		}
	}
	return ""
}
