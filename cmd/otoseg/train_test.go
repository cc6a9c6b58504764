package main

import (
	"strings"
	"testing"

	"github.com/otoseg/otoseg/train"
)

// TestTrainFlags: the flags `otoseg train` parses into train.Options, and
// the refusals of values that cannot train, each naming its flag.
func TestTrainFlags(t *testing.T) {
	cmd := newTrainCmd()
	for flag, want := range map[string]string{"elastic": "0", "elastic-mag": "1", "elastic-grid": "6", "blur": "0.5,1", "blur-p": "0.2", "lowres-min": "0.5", "epochs": "40", "optimizer": "adamw", "val-every": "1"} {
		if got := cmd.Flag(flag).DefValue; got != want {
			t.Errorf("--%s default %s, want %s", flag, got, want)
		}
	}
	def := trainFlags{blur: "0.5,1", elasticMag: 1, elasticGrid: 6, features: "16,32,64,128", locFeatures: "8,16,32,64"}
	tests := []struct {
		name    string
		edit    func(*trainFlags, *train.Options)
		wantErr string
		check   func(train.Options) bool
	}{
		{"defaults are nnU-Net's", func(*trainFlags, *train.Options) {}, "", func(o train.Options) bool {
			a := o.Augment
			return a.BlurLo == 0.5 && a.BlurHi == 1 && a.PBlur == 0.2 && a.LowResLo == 0.5 && a.PCalib == 0 && a.PElastic == 0
		}},
		{"wider blur", func(f *trainFlags, o *train.Options) {
			f.blur, o.Augment.PBlur, o.Augment.LowResLo = "0.5, 2", 0.3, 0.3
		}, "", func(o train.Options) bool {
			return o.Augment.BlurHi == 2 && o.Augment.PBlur == 0.3 && o.Augment.LowResLo == 0.3
		}},
		{"blur one number", func(f *trainFlags, _ *train.Options) { f.blur = "1" }, "--blur", nil},
		{"blur three numbers", func(f *trainFlags, _ *train.Options) { f.blur = "0.5,1,2" }, "--blur", nil},
		{"blur reversed", func(f *trainFlags, _ *train.Options) { f.blur = "2,1" }, "--blur", nil},
		{"blur huge", func(f *trainFlags, _ *train.Options) { f.blur = "1,50" }, "--blur", nil},
		{"blur not a number", func(f *trainFlags, _ *train.Options) { f.blur = "a,b" }, "--blur", nil},
		{"blur probability", func(_ *trainFlags, o *train.Options) { o.Augment.PBlur = 1.5 }, "--blur-p", nil},
		{"low-res zero", func(_ *trainFlags, o *train.Options) { o.Augment.LowResLo = 0 }, "--lowres-min", nil},
		{"hu calibration", func(f *trainFlags, _ *train.Options) { f.huCalib = "50, 0.1" }, "", func(o train.Options) bool {
			return o.Augment.PCalib == 0.3 && o.Augment.CalibOffset == 50 && o.Augment.CalibGain == 0.1
		}},
		{"hu calibration one number", func(f *trainFlags, _ *train.Options) { f.huCalib = "50" }, "--hu-calibration", nil},
		{"hu calibration huge gain", func(f *trainFlags, _ *train.Options) { f.huCalib = "50,2" }, "--hu-calibration", nil},
		// Off by default: nothing reaches the patcher, so recipes without
		// --elastic cut the same patches as before it existed.
		{"elastic off ignores a bad magnitude", func(f *trainFlags, _ *train.Options) { f.elasticMag = 100 }, "", func(o train.Options) bool {
			return o.Augment.PElastic == 0 && o.Augment.ElasticMagMM == 0
		}},
		{"elastic on with defaults", func(f *trainFlags, _ *train.Options) { f.elasticP = 0.2 }, "", func(o train.Options) bool {
			return o.Augment.PElastic == 0.2 && o.Augment.ElasticMagMM == 1 && o.Augment.ElasticGridMM == 6
		}},
		{"elastic probability over 1", func(f *trainFlags, _ *train.Options) { f.elasticP = 1.5 }, "--elastic ", nil},
		{"elastic negative probability", func(f *trainFlags, _ *train.Options) { f.elasticP = -0.1 }, "--elastic ", nil},
		{"elastic zero magnitude", func(f *trainFlags, _ *train.Options) { f.elasticP, f.elasticMag = 0.2, 0 }, "--elastic-mag", nil},
		// 0.4 x the grid is Choi and Lee's bound: beyond it the field may fold.
		{"elastic magnitude folds", func(f *trainFlags, _ *train.Options) { f.elasticP, f.elasticMag = 0.2, 2.5 }, "--elastic-mag", nil},
		{"elastic grid too fine", func(f *trainFlags, _ *train.Options) { f.elasticP, f.elasticMag, f.elasticGrid = 0.2, 0.1, 0.5 }, "--elastic-grid", nil},
		{"elastic grid too coarse", func(f *trainFlags, _ *train.Options) { f.elasticP, f.elasticGrid = 0.2, 100 }, "--elastic-grid", nil},
		{"clip", func(f *trainFlags, _ *train.Options) { f.clip = " -1000 , 3000 " }, "", func(o train.Options) bool { return o.ClipLow == -1000 && o.ClipHigh == 3000 }},
		{"clip one number", func(f *trainFlags, _ *train.Options) { f.clip = "2500" }, "--intensity-clip", nil},
		{"clip reversed", func(f *trainFlags, _ *train.Options) { f.clip = "2500,-476" }, "--intensity-clip", nil},
		{"clip too low", func(f *trainFlags, _ *train.Options) { f.clip = "-5000,2500" }, "--intensity-clip", nil},
		{"clip too high", func(f *trainFlags, _ *train.Options) { f.clip = "-476,1e6" }, "--intensity-clip", nil},
		{"features", func(f *trainFlags, _ *train.Options) { f.features = "8,0" }, "--features", nil},
		{"spacing", func(f *trainFlags, _ *train.Options) { f.spacing = "0.3" }, "", func(o train.Options) bool { return o.Spacing == [3]float64{0.3, 0.3, 0.3} }},
		{"spacing zero", func(f *trainFlags, _ *train.Options) { f.spacing = "0" }, "--spacing", nil},
		{"optimizer", func(_ *trainFlags, o *train.Options) { o.Optimizer = "adam" }, "--optimizer", nil},
		{"validation every 4 epochs", func(_ *trainFlags, o *train.Options) { o.ValEvery = 4 }, "", func(o train.Options) bool { return o.ValEvery == 4 }},
		{"validation every -1 epochs", func(_ *trainFlags, o *train.Options) { o.ValEvery = -1 }, "--val-every", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, o := def, train.DefaultOptions()
			o.Out = "model"
			tt.edit(&f, &o)
			err := f.apply(&o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(o) {
				t.Errorf("got %+v", o)
			}
		})
	}
}
