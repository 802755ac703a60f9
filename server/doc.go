// Package server is Zhengzhao's HTTP edge: the JSON API on echo v5, bearer
// token authentication with roles, and one error handler that maps domain
// errors to HTTP statuses and the stable body {code, message, field}.
// Domain packages never import net/http or echo; this package is where HTTP
// stays.
package server
