package nn

// convGeom describes one convolution: batch, channels, cubic kernel K with
// stride S and padding P, input and output spatial sizes.
type convGeom struct {
	N, Cin, Cout, K, S, P int
	ID, IH, IW            int
	OD, OH, OW            int
}

func (g *convGeom) inSpatial() int  { return g.ID * g.IH * g.IW }
func (g *convGeom) outSpatial() int { return g.OD * g.OH * g.OW }

// The functions below are the plain definition of the convolution and its
// gradients, one loop per index. They are the engine's portable fallback for
// shapes the fast path does not cover and the reference the tests hold the
// fast paths to.

// refConvForward computes y = conv(x, w) + b for all of the batch.
func refConvForward(g *convGeom, x, w, b, y []float32, threads int) {
	K, k3 := g.K, g.K*g.K*g.K
	in, out := g.inSpatial(), g.outSpatial()
	parallelFor(threads, g.N*g.Cout, func(_, lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, co := nc/g.Cout, nc%g.Cout
			yo := y[nc*out : (nc+1)*out]
			for od := 0; od < g.OD; od++ {
				for oh := 0; oh < g.OH; oh++ {
					for ow := 0; ow < g.OW; ow++ {
						var s float32
						if b != nil {
							s = b[co]
						}
						for ci := 0; ci < g.Cin; ci++ {
							xc := x[(n*g.Cin+ci)*in:]
							wc := w[(co*g.Cin+ci)*k3:]
							for kd := 0; kd < K; kd++ {
								id := od*g.S + kd - g.P
								if id < 0 || id >= g.ID {
									continue
								}
								for kh := 0; kh < K; kh++ {
									ih := oh*g.S + kh - g.P
									if ih < 0 || ih >= g.IH {
										continue
									}
									for kw := 0; kw < K; kw++ {
										iw := ow*g.S + kw - g.P
										if iw < 0 || iw >= g.IW {
											continue
										}
										s += wc[(kd*K+kh)*K+kw] * xc[(id*g.IH+ih)*g.IW+iw]
									}
								}
							}
						}
						yo[(od*g.OH+oh)*g.OW+ow] = s
					}
				}
			}
		}
	})
}

// refConvBackwardData computes dx = conv^T(dy, w) (overwriting dx).
func refConvBackwardData(g *convGeom, dy, w, dx []float32, threads int) {
	K, k3 := g.K, g.K*g.K*g.K
	in, out := g.inSpatial(), g.outSpatial()
	parallelFor(threads, g.N*g.Cin, func(_, lo, hi int) {
		for nc := lo; nc < hi; nc++ {
			n, ci := nc/g.Cin, nc%g.Cin
			dxc := dx[nc*in : (nc+1)*in]
			clear(dxc)
			for co := 0; co < g.Cout; co++ {
				dyc := dy[(n*g.Cout+co)*out:]
				wc := w[(co*g.Cin+ci)*k3:]
				for od := 0; od < g.OD; od++ {
					for oh := 0; oh < g.OH; oh++ {
						for ow := 0; ow < g.OW; ow++ {
							v := dyc[(od*g.OH+oh)*g.OW+ow]
							for kd := 0; kd < K; kd++ {
								id := od*g.S + kd - g.P
								if id < 0 || id >= g.ID {
									continue
								}
								for kh := 0; kh < K; kh++ {
									ih := oh*g.S + kh - g.P
									if ih < 0 || ih >= g.IH {
										continue
									}
									for kw := 0; kw < K; kw++ {
										iw := ow*g.S + kw - g.P
										if iw < 0 || iw >= g.IW {
											continue
										}
										dxc[(id*g.IH+ih)*g.IW+iw] += wc[(kd*K+kh)*K+kw] * v
									}
								}
							}
						}
					}
				}
			}
		}
	})
}

// refConvBackwardWeight adds dL/dw into dw and dL/db into db (when not nil).
func refConvBackwardWeight(g *convGeom, x, dy, dw, db []float32, threads int) {
	K, k3 := g.K, g.K*g.K*g.K
	in, out := g.inSpatial(), g.outSpatial()
	parallelFor(threads, g.Cout, func(_, lo, hi int) {
		for co := lo; co < hi; co++ {
			for n := 0; n < g.N; n++ {
				dyc := dy[(n*g.Cout+co)*out : (n*g.Cout+co+1)*out]
				if db != nil {
					var s float64
					for _, v := range dyc {
						s += float64(v)
					}
					db[co] += float32(s)
				}
				for ci := 0; ci < g.Cin; ci++ {
					xc := x[(n*g.Cin+ci)*in:]
					wc := dw[(co*g.Cin+ci)*k3:]
					for kd := 0; kd < K; kd++ {
						for kh := 0; kh < K; kh++ {
							for kw := 0; kw < K; kw++ {
								var s float32
								for od := 0; od < g.OD; od++ {
									id := od*g.S + kd - g.P
									if id < 0 || id >= g.ID {
										continue
									}
									for oh := 0; oh < g.OH; oh++ {
										ih := oh*g.S + kh - g.P
										if ih < 0 || ih >= g.IH {
											continue
										}
										for ow := 0; ow < g.OW; ow++ {
											iw := ow*g.S + kw - g.P
											if iw < 0 || iw >= g.IW {
												continue
											}
											s += dyc[(od*g.OH+oh)*g.OW+ow] * xc[(id*g.IH+ih)*g.IW+iw]
										}
									}
								}
								wc[(kd*K+kh)*K+kw] += s
							}
						}
					}
				}
			}
		}
	})
}
