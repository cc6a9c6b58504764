package main

import (
	"strings"
	"testing"

	"github.com/otoseg/otoseg/plan"
)

func TestSegmenterAugmentFlags(t *testing.T) {
	def := trainOptions{blur: "0.5,1", blurP: 0.2, lowResMin: 0.5}
	tests := []struct {
		name    string
		edit    func(*trainOptions)
		wantErr string
		check   func(lo, hi, p, lr float64) bool
	}{
		{"defaults are nnU-Net's", func(*trainOptions) {}, "", func(lo, hi, p, lr float64) bool { return lo == 0.5 && hi == 1 && p == 0.2 && lr == 0.5 }},
		{"wider blur", func(o *trainOptions) { o.blur, o.blurP, o.lowResMin = "0.5, 2", 0.3, 0.3 }, "", func(lo, hi, p, lr float64) bool { return lo == 0.5 && hi == 2 && p == 0.3 && lr == 0.3 }},
		{"one number", func(o *trainOptions) { o.blur = "1" }, "--blur", nil},
		{"three numbers", func(o *trainOptions) { o.blur = "0.5,1,2" }, "--blur", nil},
		{"reversed", func(o *trainOptions) { o.blur = "2,1" }, "--blur", nil},
		{"huge", func(o *trainOptions) { o.blur = "1,50" }, "--blur", nil},
		{"not a number", func(o *trainOptions) { o.blur = "a,b" }, "--blur", nil},
		{"probability", func(o *trainOptions) { o.blurP = 1.5 }, "--blur-p", nil},
		{"low-res zero", func(o *trainOptions) { o.lowResMin = 0 }, "--lowres-min", nil},
		{"hu calibration", func(o *trainOptions) { o.huCalib = "50,0.1" }, "", func(lo, hi, p, lr float64) bool { return lo == 0.5 && hi == 1 }},
		{"hu calibration one number", func(o *trainOptions) { o.huCalib = "50" }, "--hu-calibration", nil},
		{"hu calibration huge gain", func(o *trainOptions) { o.huCalib = "50,2" }, "--hu-calibration", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := def
			tt.edit(&o)
			a, err := segmenterAugment(o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(a.BlurLo, a.BlurHi, a.PBlur, a.LowResLo) {
				t.Errorf("got blur %g-%g p %g, low-res %g", a.BlurLo, a.BlurHi, a.PBlur, a.LowResLo)
			}
		})
	}
}

func TestHUCalibrationFlag(t *testing.T) {
	a, err := segmenterAugment(trainOptions{blur: "0.5,1", blurP: 0.2, lowResMin: 0.5, huCalib: "50, 0.1"})
	if err != nil {
		t.Fatal(err)
	}
	if a.PCalib != 0.3 || a.CalibOffset != 50 || a.CalibGain != 0.1 {
		t.Errorf("--hu-calibration 50,0.1: p %g offset %g gain %g", a.PCalib, a.CalibOffset, a.CalibGain)
	}
	if a, _ := segmenterAugment(trainOptions{blur: "0.5,1", blurP: 0.2, lowResMin: 0.5}); a.PCalib != 0 {
		t.Errorf("default: calibration augmentation on (p %g)", a.PCalib)
	}
}

func TestElasticFlags(t *testing.T) {
	// The flags' defaults, as newTrainCmd sets them.
	def := trainOptions{blur: "0.5,1", blurP: 0.2, lowResMin: 0.5, elasticMag: 1, elasticGrid: 6}
	if cmd := newTrainCmd(); cmd.Flag("elastic").DefValue != "0" || cmd.Flag("elastic-mag").DefValue != "1" || cmd.Flag("elastic-grid").DefValue != "6" {
		t.Fatalf("flag defaults %s, %s, %s; want 0, 1, 6", cmd.Flag("elastic").DefValue, cmd.Flag("elastic-mag").DefValue, cmd.Flag("elastic-grid").DefValue)
	}
	tests := []struct {
		name          string
		edit          func(*trainOptions)
		wantErr       string
		p, mag, gridM float64
	}{
		// Off by default: nothing reaches the patcher, so recipes without
		// --elastic cut the same patches as before it existed.
		{"off by default", func(*trainOptions) {}, "", 0, 0, 0},
		{"off ignores a bad magnitude", func(o *trainOptions) { o.elasticMag = 100 }, "", 0, 0, 0},
		{"on with defaults", func(o *trainOptions) { o.elasticP = 0.2 }, "", 0.2, 1, 6},
		{"on, tuned", func(o *trainOptions) { o.elasticP, o.elasticMag, o.elasticGrid = 1, 0.6, 4 }, "", 1, 0.6, 4},
		{"probability over 1", func(o *trainOptions) { o.elasticP = 1.5 }, "--elastic ", 0, 0, 0},
		{"negative probability", func(o *trainOptions) { o.elasticP = -0.1 }, "--elastic ", 0, 0, 0},
		{"zero magnitude", func(o *trainOptions) { o.elasticP, o.elasticMag = 0.2, 0 }, "--elastic-mag", 0, 0, 0},
		{"negative magnitude", func(o *trainOptions) { o.elasticP, o.elasticMag = 0.2, -1 }, "--elastic-mag", 0, 0, 0},
		// 0.4 x the grid is Choi and Lee's bound: beyond it the field may fold.
		{"magnitude folds", func(o *trainOptions) { o.elasticP, o.elasticMag = 0.2, 2.5 }, "--elastic-mag", 0, 0, 0},
		{"grid too fine", func(o *trainOptions) { o.elasticP, o.elasticMag, o.elasticGrid = 0.2, 0.1, 0.5 }, "--elastic-grid", 0, 0, 0},
		{"grid too coarse", func(o *trainOptions) { o.elasticP, o.elasticGrid = 0.2, 100 }, "--elastic-grid", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := def
			tt.edit(&o)
			a, err := segmenterAugment(o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.PElastic != tt.p || a.ElasticMagMM != tt.mag || a.ElasticGridMM != tt.gridM {
				t.Errorf("got p %g, magnitude %g mm, grid %g mm; want %g, %g, %g", a.PElastic, a.ElasticMagMM, a.ElasticGridMM, tt.p, tt.mag, tt.gridM)
			}
		})
	}
}

func TestIntensityClipFlag(t *testing.T) {
	base := plan.Intensity{ClipLow: -476, ClipHigh: 1251, Mean: 380, Std: 377}
	for _, tt := range []struct {
		flag    string
		want    plan.Intensity
		wantErr bool
	}{
		{"", base, false},
		{"-476,2500", plan.Intensity{ClipLow: -476, ClipHigh: 2500, Mean: 380, Std: 377}, false},
		{" -1000 , 3000 ", plan.Intensity{ClipLow: -1000, ClipHigh: 3000, Mean: 380, Std: 377}, false},
		{"2500", base, true},
		{"2500,-476", base, true},
		{"-5000,2500", base, true},
		{"-476,1e6", base, true},
		{"a,b", base, true},
	} {
		in := base
		err := overrideClip(&in, tt.flag)
		if (err != nil) != tt.wantErr || in != tt.want {
			t.Errorf("--intensity-clip %q: got %+v, err %v; want %+v, error %v", tt.flag, in, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "--intensity-clip") {
			t.Errorf("error %q does not name the flag", err)
		}
	}
}
