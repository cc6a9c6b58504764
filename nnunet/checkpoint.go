package nnunet

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// Limits on what a checkpoint's headers may claim before anything is
// allocated. nnU-Net's largest plain U-Nets hold about 31 M parameters; a
// checkpoint with optimizer state is a few hundred MB.
const (
	maxPickleBytes  = 64 << 20
	maxZipEntries   = 1 << 16
	maxTensorBytes  = 1 << 30
	maxWeightsBytes = 2 << 30
	maxTensorDims   = 8
)

// Tensor is one float32 array of a state dict, C-contiguous, PyTorch's shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Checkpoint is what otoseg takes from an nnU-Net checkpoint_final.pth: the
// network's state dict and the trainer's inference settings. The optimizer
// state and training log are skipped (their storages are never read).
type Checkpoint struct {
	// Weights maps state-dict names to tensors; Names keeps the file's order.
	Weights map[string]*Tensor
	Names   []string
	// TrainerName is the trainer class that wrote it ("nnUNetTrainer", ...).
	TrainerName string
	// MirrorAxes are the spatial axes (0..2, of nnU-Net's z, y, x array)
	// the trainer allows mirroring over at inference; nil when the
	// checkpoint has none or None (nnU-Net's predictor then does not mirror).
	MirrorAxes []int
	Epoch      int
}

// ReadCheckpoint reads a PyTorch zip checkpoint as nnU-Net v2 writes it
// (torch.save of a dict with network_weights, trainer_name,
// inference_allowed_mirroring_axes, ...). Errors name the file.
func ReadCheckpoint(name string) (*Checkpoint, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	c, err := DecodeCheckpoint(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", name, err)
	}
	return c, nil
}

// storageRef is a tensor storage named in the pickle; its bytes stay in the
// zip until a weight needs them.
type storageRef struct {
	dtype string // "float32", "float16", "bfloat16", "float64", or another torch type
	size  int    // bytes per element
	key   string
	numel int
}

// storageClass is torch.FloatStorage and friends.
type storageClass struct {
	dtype string
	size  int
}

var storageClasses = map[string]storageClass{
	"FloatStorage": {"float32", 4}, "HalfStorage": {"float16", 2}, "BFloat16Storage": {"bfloat16", 2},
	"DoubleStorage": {"float64", 8}, "LongStorage": {"int64", 8}, "IntStorage": {"int32", 4},
	"ShortStorage": {"int16", 2}, "CharStorage": {"int8", 1}, "ByteStorage": {"uint8", 1}, "BoolStorage": {"bool", 1},
}

// tensorRef is a tensor as _rebuild_tensor_v2 describes it.
type tensorRef struct {
	st     *storageRef
	offset int
	shape  []int
	stride []int
}

// rebuildTensor is torch._utils._rebuild_tensor_v2 (and _rebuild_parameter,
// which wraps a tensor).
type rebuildTensor struct{ parameter bool }

func (r rebuildTensor) Call(args ...any) (any, error) {
	if r.parameter {
		if len(args) < 1 {
			return nil, errors.New("_rebuild_parameter without arguments")
		}
		if _, ok := args[0].(*tensorRef); !ok {
			return nil, errors.New("_rebuild_parameter of something other than a tensor")
		}
		return args[0], nil
	}
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(args))
	}
	st, ok1 := args[0].(*storageRef)
	off, ok2 := args[1].(int)
	shape, ok3 := intTuple(args[2])
	stride, ok4 := intTuple(args[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || len(shape) != len(stride) || len(shape) > maxTensorDims {
		return nil, errors.New("_rebuild_tensor_v2 with malformed arguments")
	}
	return &tensorRef{st: st, offset: off, shape: shape, stride: stride}, nil
}

func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, false
		}
	}
	return out, true
}

// pyClass stands for any other class or function the pickle names
// (torch.device, numpy scalars and dtypes in the training log, ...):
// calling it or setting its state records nothing, since otoseg needs none
// of them.
type pyClass struct{ module, name string }

type pyObject struct{ class *pyClass }

func (c *pyClass) Call(...any) (any, error)     { return &pyObject{c}, nil }
func (c *pyClass) PyNew(...any) (any, error)    { return &pyObject{c}, nil }
func (o *pyObject) PySetState(any) error        { return nil }
func (o *pyObject) PyDictSet(_, _ any) error    { return nil }
func (o *pyObject) PySetAttr(string, any) error { return nil }

// DecodeCheckpoint reads a checkpoint from r (size bytes).
func DecodeCheckpoint(r io.ReaderAt, size int64) (c *Checkpoint, err error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch zip checkpoint (legacy torch.save files are not read): %w", err)
	}
	if len(zr.File) > maxZipEntries {
		return nil, fmt.Errorf("%d zip entries, more than %d", len(zr.File), maxZipEntries)
	}
	files := map[string]*zip.File{}
	var pkl *zip.File
	for _, f := range zr.File {
		files[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			pkl = f
		}
		if path.Base(f.Name) == "constants.pkl" {
			return nil, errors.New("a TorchScript archive, not a checkpoint")
		}
	}
	if pkl == nil {
		return nil, errors.New("no <archive>/data.pkl: not a torch.save zip file")
	}
	prefix := path.Dir(pkl.Name)
	b, err := readEntry(pkl, maxPickleBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	if err := checkPickle(b); err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	obj, err := unpickle(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkl.Name, err)
	}
	return fromPickle(obj, func(key string) *zip.File { return files[prefix+"/data/"+key] })
}

// unpickle runs gopickle over a checked stream. gopickle reports malformed
// programs as errors but may index past its stack on some; a panic there is
// turned into an error, since a bad file must never crash otoseg.
func unpickle(b []byte) (obj any, err error) {
	defer func() {
		if p := recover(); p != nil {
			obj, err = nil, fmt.Errorf("malformed pickle (%v)", p)
		}
	}()
	storages := map[string]*storageRef{}
	u := pickle.NewUnpickler(bytes.NewReader(b))
	u.FindClass = func(module, name string) (any, error) {
		switch {
		case module == "torch._utils" && name == "_rebuild_tensor_v2":
			return rebuildTensor{}, nil
		case module == "torch._utils" && name == "_rebuild_parameter":
			return rebuildTensor{parameter: true}, nil
		case module == "torch":
			if sc, ok := storageClasses[name]; ok {
				return &sc, nil
			}
		}
		return &pyClass{module, name}, nil
	}
	u.PersistentLoad = func(id any) (any, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("persistent id %v is not a storage tuple", id)
		}
		if kind, _ := t.Get(0).(string); kind != "storage" {
			return nil, fmt.Errorf("persistent id of kind %v, want storage", t.Get(0))
		}
		sc, ok1 := t.Get(1).(*storageClass)
		key, ok2 := t.Get(2).(string)
		numel, ok3 := t.Get(4).(int)
		if !ok1 || !ok2 || !ok3 || numel < 0 || numel > maxTensorBytes/sc.size {
			return nil, fmt.Errorf("storage %v: malformed or larger than %d bytes", t.Get(2), maxTensorBytes)
		}
		if s, ok := storages[key]; ok {
			return s, nil
		}
		s := &storageRef{dtype: sc.dtype, size: sc.size, key: key, numel: numel}
		storages[key] = s
		return s, nil
	}
	return u.Load()
}

func readEntry(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes, more than %d", f.UncompressedSize64, limit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(f.UncompressedSize64)+1))
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) != f.UncompressedSize64 {
		return nil, fmt.Errorf("%d bytes where the zip directory says %d", len(b), f.UncompressedSize64)
	}
	return b, nil
}

// dictGet looks a string key up in a pickled dict or OrderedDict.
func dictGet(d any, key string) (any, bool) {
	switch d := d.(type) {
	case *types.Dict:
		return d.Get(key)
	case *types.OrderedDict:
		return d.Get(key)
	}
	return nil, false
}

func fromPickle(obj any, entry func(key string) *zip.File) (*Checkpoint, error) {
	if _, ok := obj.(*types.Dict); !ok {
		return nil, fmt.Errorf("top-level object is %T, not the dict nnU-Net saves", obj)
	}
	c := &Checkpoint{Weights: map[string]*Tensor{}}
	if v, ok := dictGet(obj, "trainer_name"); ok {
		c.TrainerName, _ = v.(string)
	}
	if v, ok := dictGet(obj, "current_epoch"); ok {
		c.Epoch, _ = v.(int)
	}
	if v, ok := dictGet(obj, "inference_allowed_mirroring_axes"); ok && v != nil {
		axes, ok := intTuple(v)
		if !ok {
			if l, isList := v.(*types.List); isList {
				axes, ok = intTuple(types.NewTupleFromSlice(*l))
			}
		}
		if !ok {
			return nil, fmt.Errorf("inference_allowed_mirroring_axes is %v, not a tuple of axes", v)
		}
		for _, a := range axes {
			if a < 0 || a > 2 {
				return nil, fmt.Errorf("inference_allowed_mirroring_axes %v: axis %d is not 0, 1 or 2", axes, a)
			}
		}
		c.MirrorAxes = axes
	}
	w, ok := dictGet(obj, "network_weights")
	if !ok {
		return nil, errors.New("no network_weights: not an nnU-Net checkpoint")
	}
	od, ok := w.(*types.OrderedDict)
	if !ok {
		if d, isDict := w.(*types.Dict); isDict {
			od = types.NewOrderedDict()
			for _, e := range *d {
				od.Set(e.Key, e.Value)
			}
		} else {
			return nil, fmt.Errorf("network_weights is %T, not a state dict", w)
		}
	}
	var total int64
	for el := od.List.Front(); el != nil; el = el.Next() {
		e := el.Value.(*types.OrderedDictEntry)
		name, ok := e.Key.(string)
		if !ok {
			return nil, fmt.Errorf("network_weights key %v is not a string", e.Key)
		}
		ref, ok := e.Value.(*tensorRef)
		if !ok {
			continue // not a tensor (a stray entry); the mapping reports what is missing
		}
		t, err := ref.load(entry)
		if err != nil {
			return nil, fmt.Errorf("network_weights[%s]: %w", name, err)
		}
		total += int64(len(t.Data)) * 4
		if total > maxWeightsBytes {
			return nil, fmt.Errorf("network weights larger than %d bytes", maxWeightsBytes)
		}
		c.Weights[name] = t
		c.Names = append(c.Names, name)
	}
	return c, nil
}

// load reads a tensor's elements from its storage's zip entry, checking
// that shape, stride and offset stay inside the storage and that the tensor
// is C-contiguous (state dicts are).
func (r *tensorRef) load(entry func(string) *zip.File) (*Tensor, error) {
	n := 1
	for _, d := range r.shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return nil, fmt.Errorf("shape %v out of range", r.shape)
		}
		n *= d
	}
	want := 1
	for i := len(r.shape) - 1; i >= 0; i-- {
		if r.shape[i] > 1 && r.stride[i] != want {
			return nil, fmt.Errorf("shape %v stride %v is not contiguous", r.shape, r.stride)
		}
		want *= r.shape[i]
	}
	if r.offset < 0 || r.offset > r.st.numel || n > r.st.numel-r.offset {
		return nil, fmt.Errorf("shape %v at offset %d exceeds its storage of %d elements", r.shape, r.offset, r.st.numel)
	}
	f := entry(r.st.key)
	if f == nil {
		return nil, fmt.Errorf("storage %s missing from the archive", r.st.key)
	}
	if f.UncompressedSize64 != uint64(r.st.numel*r.st.size) {
		return nil, fmt.Errorf("storage %s: %d bytes in the archive, %d elements of %s declared", r.st.key, f.UncompressedSize64, r.st.numel, r.st.dtype)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("storage %s: %w", r.st.key, err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, int64(r.offset*r.st.size)); err != nil {
		return nil, fmt.Errorf("storage %s: %w", r.st.key, err)
	}
	raw := make([]byte, n*r.st.size)
	if _, err := io.ReadFull(rc, raw); err != nil {
		return nil, fmt.Errorf("storage %s: %w", r.st.key, err)
	}
	t := &Tensor{Shape: slices.Clone(r.shape), Data: make([]float32, n)}
	switch r.st.dtype {
	case "float32":
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case "float64":
		for i := range t.Data {
			t.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	case "float16":
		for i := range t.Data {
			t.Data[i] = halfToFloat(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	case "bfloat16":
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("storage of %s, not floating point", r.st.dtype)
	}
	return t, nil
}

// halfToFloat converts IEEE binary16 to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0: // zero or subnormal: frac * 2^-24
		v := float32(math.Ldexp(float64(frac), -24))
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}
