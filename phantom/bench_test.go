package phantom

import "testing"

// Benchmarks of one case per centre on its own protocol (noise, blur,
// artefacts included). Run: go test -run - -bench Generate ./phantom
func benchCentre(b *testing.B, name string) {
	c, err := CentreByName(name)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		img, _, _, err := Generate(Config{Centre: c, Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(img.Len())/1e6, "Mvoxels")
	}
}

func BenchmarkGenerateA(b *testing.B) { benchCentre(b, "A") }
func BenchmarkGenerateB(b *testing.B) { benchCentre(b, "B") }
func BenchmarkGenerateC(b *testing.B) { benchCentre(b, "C") }
func BenchmarkGenerateD(b *testing.B) { benchCentre(b, "D") }
func BenchmarkGenerateE(b *testing.B) { benchCentre(b, "E") }
