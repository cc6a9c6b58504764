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
