package kafka_test

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceTo produces one record to a partition with a plain franz-go client.
func produceTo(ctx context.Context, seeds []string, topic string, partition int32) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(3*time.Second), kgo.RetryTimeout(3*time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: partition, Value: []byte("x")}).FirstErr()
}
