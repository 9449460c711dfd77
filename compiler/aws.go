package compiler

import (
	"fmt"

	"github.com/topoflow/topoflow/spec"
)

func (b *builder) awsSameVPC(s *spec.KafkaAccess) error {
	return fmt.Errorf("aws/sameVpc: not compiled yet")
}
func (b *builder) awsPeering(s *spec.KafkaAccess) error {
	return fmt.Errorf("aws/vpcPeering: not compiled yet")
}
func (b *builder) awsPrivateLink(s *spec.KafkaAccess) error {
	return fmt.Errorf("aws/privateLink: not compiled yet")
}
func (b *builder) awsMultiVPC(s *spec.KafkaAccess) error {
	return fmt.Errorf("aws/mskMultiVpc: not compiled yet")
}
func (b *builder) awsTransitGateway(s *spec.KafkaAccess) error {
	return fmt.Errorf("aws/transitGateway: not compiled yet")
}
func (b *builder) azureVNetPeering(s *spec.KafkaAccess) error {
	return fmt.Errorf("azure/vnetPeering: not compiled yet")
}
