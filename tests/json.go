package tests

import "encoding/json"

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // YAML-decoded values always marshal
	}
	return string(b)
}
