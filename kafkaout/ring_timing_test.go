package kafkaout

import (
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// BenchmarkRingPushPop is one push and one pop on the same goroutine: the uncontended cost of
// the ring, which every record pays once on each side. SetBytes counts the pointer moved.
func BenchmarkRingPushPop(b *testing.B) {
	var r ring
	r.init(8192)
	rec := &record{}
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(rec)))
	for b.Loop() {
		if !r.push(rec) {
			b.Fatal("push failed")
		}
		if r.pop() == nil {
			b.Fatal("pop failed")
		}
	}
}

// BenchmarkRingParallelPush has GOMAXPROCS goroutines pushing into one ring while a single
// drainer pops, as the shards see it when every request lands on the same shard (the worst
// case; Producer spreads requests round-robin). ns/op is per pushed record.
func BenchmarkRingParallelPush(b *testing.B) {
	var r ring
	r.init(8192)
	rec := &record{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if r.pop() == nil {
				select {
				case <-stop:
					return
				default:
					runtime.Gosched()
				}
			}
		}
	})
	b.ReportAllocs()
	b.SetBytes(int64(unsafe.Sizeof(rec)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			for !r.push(rec) {
				runtime.Gosched()
			}
		}
	})
	b.StopTimer()
	close(stop)
	wg.Wait()
}
