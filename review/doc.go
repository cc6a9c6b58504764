// Package review is the expert-review web app: readers sign in, see every
// automated segmentation of a study once, in an order of their own, blinded
// to the case's metadata, and rate it on a 4-level Likert scale. Ratings live
// in an embedded SQLite database (WAL, synchronous=FULL, one transaction per
// rating) so that an acknowledged rating survives a crash of the server.
//
// The server never sends a whole volume to the browser: it renders slices as
// PNG from volumes cached in a bounded LRU and a 3-D surface as a small
// indexed mesh computed from the (downsampled) label map. It draws on the
// packages that own each concept rather than copies of them: windows from
// render, label colours and which ear a voxel belongs to from ear, the
// surface, its smoothing and its binary form from mesh.
//
// The server's files, one concern each: server.go (options and
// construction), routes.go (paths, security headers, static files),
// auth.go (sessions, CSRF, roles), login.go (sign-in and sign-out),
// credentials.go (tokens and passwords), ratelimit.go (sign-in lockout),
// blind.go (blinded case ids), respond.go (errors and JSON), cases.go (the
// reader's cases), cache.go (loaded volumes), ratings.go, images.go and
// frame.go (slices), ears.go and surfaces.go (the 3-D view), admin.go
// (progress and QC, for admins only); store.go and audit.go keep the
// ratings, qcverdicts.go the QC verdicts of otoseg segment's sidecars,
// study.go reads the study folder, export.go writes CSV.
package review
