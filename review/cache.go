package review

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/otoseg/otoseg/volume"
)

// Loader reads an image file; the server uses imageio.Read.
type Loader func(path string) (*volume.Volume, error)

// Loaded is a volume prepared for serving: CT voxels as float32, or a label
// map narrowed to uint8 (a quarter of the memory), with its canonical frame.
type Loaded struct {
	Geometry volume.Geometry
	Frame    Frame
	Data     []float32 // CT, nil for a label map
	Labels   []uint8   // label map, nil for a CT

	mu      sync.Mutex
	derived map[string]any // surfaces, centres: computed once per volume
}

// Bytes is the memory the volume holds.
func (l *Loaded) Bytes() int64 { return int64(len(l.Data))*4 + int64(len(l.Labels)) }

// Derived returns the value computed by fn under key, computing it once.
func (l *Loaded) Derived(key string, fn func() (any, error)) (any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v, ok := l.derived[key]; ok {
		return v, nil
	}
	v, err := fn()
	if err != nil {
		return nil, err
	}
	if l.derived == nil {
		l.derived = map[string]any{}
	}
	l.derived[key] = v
	return v, nil
}

// toLabels narrows a label volume to uint8, refusing values that are not
// integers in [0, 255].
func toLabels(path string, v *volume.Volume) ([]uint8, error) {
	out := make([]uint8, len(v.Data))
	for i, x := range v.Data {
		if x < 0 || x > 255 || x != float32(math.Trunc(float64(x))) {
			return nil, fmt.Errorf("%s: voxel %d has value %g, want an integer label 0..255", path, i, x)
		}
		out[i] = uint8(x)
	}
	return out, nil
}

// Cache is a bounded LRU of loaded volumes keyed by path. Concurrent
// requests for a volume that is loading wait for the one load; the cache
// evicts least recently used volumes once their total size exceeds the
// bound (a single volume larger than the bound is still served, then
// evicted at the next load).
type Cache struct {
	load     Loader
	maxBytes int64

	mu      sync.Mutex
	entries map[string]*cacheEntry
	lru     *list.List // front = most recent; values are *cacheEntry
	used    int64
}

type cacheEntry struct {
	key   string
	done  chan struct{}
	vol   *Loaded
	err   error
	elem  *list.Element
	bytes int64
}

// NewCache returns a cache that holds about maxBytes of voxels.
func NewCache(load Loader, maxBytes int64) *Cache {
	return &Cache{load: load, maxBytes: maxBytes, entries: map[string]*cacheEntry{}, lru: list.New()}
}

// Get returns the volume at path, loading it as a label map when label is
// true. Failed loads are not cached, so a fixed file is picked up on retry.
func (c *Cache) Get(ctx context.Context, path string, label bool) (*Loaded, error) {
	key := path
	if label {
		key = "label:" + path
	}
	c.mu.Lock()
	if e, ok := c.entries[key]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		select {
		case <-e.done:
			return e.vol, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &cacheEntry{key: key, done: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()

	e.vol, e.err = c.loadOne(path, label)

	c.mu.Lock()
	if e.err != nil {
		delete(c.entries, key)
	} else {
		e.bytes = e.vol.Bytes()
		e.elem = c.lru.PushFront(e)
		c.used += e.bytes
		c.evictLocked(e)
	}
	c.mu.Unlock()
	close(e.done)
	return e.vol, e.err
}

func (c *Cache) loadOne(path string, label bool) (*Loaded, error) {
	v, err := c.load(path)
	if err != nil {
		return nil, err
	}
	if err := v.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	l := &Loaded{Geometry: v.Geometry, Frame: NewFrame(v.Geometry)}
	if label {
		if l.Labels, err = toLabels(path, v); err != nil {
			return nil, err
		}
	} else {
		l.Data = v.Data
	}
	return l, nil
}

func (c *Cache) evictLocked(keep *cacheEntry) {
	for c.used > c.maxBytes {
		el := c.lru.Back()
		if el == nil {
			return
		}
		e := el.Value.(*cacheEntry)
		if e == keep {
			return
		}
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.used -= e.bytes
	}
}

// Stats reports the number of cached volumes and their bytes.
func (c *Cache) Stats() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.used
}
