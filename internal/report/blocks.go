package report

import (
	"io"
	"runtime"
	"sync"
)

// writeBlocks writes items 0 to n-1 in blocks of per items, each block
// appended to a buffer by appendBlock(b, from, to) and written in order.
// A large report is formatted on every core: worker k formats blocks k,
// k+workers, k+2×workers…, each while the blocks before it are written.
// Each worker fills the same three buffers over and over: fresh memory
// costs a page fault per 4 KiB, more than formatting what goes in it.
func writeBlocks(w io.Writer, n, per int, appendBlock func(b []byte, from, to int) []byte) error {
	blocks := (n + per - 1) / per
	bounds := func(k int) (int, int) { return k * per, min((k+1)*per, n) }
	workers := min(runtime.GOMAXPROCS(0), 8, blocks/4)
	if workers < 2 {
		var b []byte
		for k := range blocks {
			from, to := bounds(k)
			b = appendBlock(b[:0], from, to)
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	const buffers = 3                    // per worker
	out := make([]chan []byte, workers)  // block k comes from out[k%workers]
	free := make([]chan []byte, workers) // and its buffer goes back to free[k%workers]
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for wk := range workers {
		out[wk] = make(chan []byte, buffers)
		free[wk] = make(chan []byte, buffers)
		for range buffers {
			free[wk] <- nil
		}
		wg.Go(func() {
			for k := wk; k < blocks; k += workers {
				var b []byte
				select {
				case b = <-free[wk]:
				case <-stop:
					return
				}
				from, to := bounds(k)
				out[wk] <- appendBlock(b[:0], from, to) // never blocks: there are only so many buffers
			}
		})
	}
	var err error
	for k := range blocks {
		b := <-out[k%workers]
		if _, err = w.Write(b); err != nil {
			break
		}
		free[k%workers] <- b // never blocks either
	}
	close(stop)
	wg.Wait()
	return err
}
