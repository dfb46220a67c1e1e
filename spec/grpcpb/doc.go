// Package grpcpb is the Go code of the four gRPC services of 7.2.4.4
// (CanService.SendCans, service.push.PushService.GetPushNotifications,
// ApiService.CallApi, DIService.Download), generated from the repaired
// listings beside it (*.proto, register I-100 and I-101) by
// `go run ./cmd/icoc proto`; `icoc proto -check` fails when the generated
// files are stale. Do not edit the *.pb.go files.
//
// The listings have no package (except push.proto's service.push) and no
// go_package, so the full method names, and with them the HTTP/2 :path of
// each call, are those of the seed: /CanService/SendCans,
// /service.push.PushService/GetPushNotifications, /ApiService/CallApi and
// /DIService/Download (register I-102).
package grpcpb
