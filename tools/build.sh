#!/usr/bin/env bash
# Builds the pinned real parts (Pulumi CLI, Kubernetes provider plugin, etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok, Argo's
# workflow-controller and argo CLI/server) from the Go
# module proxy into .tools/bin. Each part is keyed on a hash of its tool
# module (go.mod, go.sum and sources), so a second run costs nothing.
#
#   tools/build.sh            build everything missing
#   tools/build.sh pulumi     build one group: pulumi | kubeprovider | kube | kwok | argo | lint
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.tools"
bin="$out/bin"
stamps="$out/stamps"
mkdir -p "$bin" "$stamps"

pulumi_version=v3.274.1

# moddir prints where module $1 (required by the tool module in the current
# folder) is unpacked. `go list -m -f '{{.Dir}}'` prints nothing for a module
# that is not downloaded yet (a fresh machine), so download it first and
# refuse an empty answer rather than install from "/...".
moddir() {
	local dir
	go mod download "$1"
	dir=$(go list -m -f '{{.Dir}}' "$1")
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		echo "tools/build.sh: module $1 is not in the module cache after download" >&2
		exit 1
	fi
	printf '%s\n' "$dir"
}

# key prints a hash of everything that decides what a tool module builds.
key() {
	(cd "$root/tools/$1" && cat go.mod go.sum $(find . -name '*.go' | sort)) | sha256sum | cut -c1-16
}

# Built groups are also kept in the user's cache, keyed like the stamps, so
# another clone of the same tool modules (CI's clean clone, a second work
# tree) links them instead of building again. Like Go's own caches it lives
# outside the work tree; ARGO_PLATFORM_TOOLS_CACHE moves it (an empty folder
# gives a cold build).
cache=${ARGO_PLATFORM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/argo-platform-tools}

# fresh reports whether group $1 is built from its current inputs: the
# files it makes (the other arguments, relative to .tools) are there and its
# stamp names its key. Files kept in the cache under the key are linked in.
fresh() {
	local g=$1 k f ok=1
	k=$(key "$g")
	shift
	for f in "$@"; do [ -e "$out/$f" ] || ok=0; done
	if [ "$ok" = 1 ] && [ -f "$stamps/$g-$k" ]; then
		[ -f "$cache/$g-$k/.complete" ] || keep "$g" "$@"
		return 0
	fi
	[ -f "$cache/$g-$k/.complete" ] || return 1
	for f in "$@"; do
		mkdir -p "$(dirname "$out/$f")"
		ln -f "$cache/$g-$k/$f" "$out/$f" 2>/dev/null || cp -f "$cache/$g-$k/$f" "$out/$f"
	done
	stamp "$g"
	echo "tools: $g linked from $cache/$g-$k" >&2
}

# keep puts group $1's files (the other arguments, relative to .tools) in
# the cache under its key, and drops the group's older keys there.
keep() {
	local g=$1 k f old
	k=$(key "$g")
	shift
	rm -rf "$cache/$g-$k.tmp"
	for f in "$@"; do
		mkdir -p "$(dirname "$cache/$g-$k.tmp/$f")"
		ln -f "$out/$f" "$cache/$g-$k.tmp/$f" 2>/dev/null || cp -f "$out/$f" "$cache/$g-$k.tmp/$f"
	done
	touch "$cache/$g-$k.tmp/.complete"
	for old in "$cache/$g"-*; do
		[ "$old" = "$cache/$g-$k.tmp" ] || rm -rf "$old"
	done
	mv "$cache/$g-$k.tmp" "$cache/$g-$k"
}

stamp() {
	rm -f "$stamps/$1"-*
	touch "$stamps/$1-$(key "$1")"
}

timed() {
	local name=$1 start
	shift
	start=$(date +%s)
	echo "tools: building $name ..." >&2
	"$@"
	echo "tools: built $name in $(($(date +%s) - start))s" >&2
}

build_pulumi() {
	fresh pulumi bin/pulumi && return 0
	cd "$root/tools/pulumi"
	timed pulumi go build -o "$bin/pulumi" \
		-ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version" \
		github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
	stamp pulumi
	keep pulumi bin/pulumi
}

build_kubeprovider() {
	fresh kubeprovider bin/pulumi-resource-kubernetes && return 0
	cd "$root/tools/kubeprovider"
	local dir
	dir=$(moddir github.com/pulumi/pulumi-kubernetes/provider/v4)
	# The module's own command embeds files generated at release time; ours
	# embeds copies of the generated schema and mapping (git-ignored here).
	install -m 0644 "$dir/cmd/pulumi-resource-kubernetes/schema.json" schema.json
	install -m 0644 "$dir/cmd/pulumi-resource-kubernetes/terraform-mapping.json" terraform-mapping.json
	timed pulumi-resource-kubernetes go build -o "$bin/pulumi-resource-kubernetes" \
		-ldflags "-X main.version=4.25.0" .
	stamp kubeprovider
	keep kubeprovider bin/pulumi-resource-kubernetes
}

build_kube() {
	fresh kube bin/etcd bin/kube-apiserver bin/kube-controller-manager bin/kube-scheduler && return 0
	cd "$root/tools/kube"
	timed etcd go build -o "$bin/etcd" ./etcd
	for c in kube-apiserver kube-controller-manager kube-scheduler; do
		timed "$c" go build -o "$bin/$c" "k8s.io/kubernetes/cmd/$c"
	done
	stamp kube
	keep kube bin/etcd bin/kube-apiserver bin/kube-controller-manager bin/kube-scheduler
}

build_lint() {
	fresh lint bin/actionlint && return 0
	cd "$root/tools/lint"
	timed actionlint go build -o "$bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint
	stamp lint
	keep lint bin/actionlint
}

build_kwok() {
	local stages=(node-initialize.yaml node-heartbeat.yaml pod-ready.yaml pod-complete.yaml pod-delete.yaml)
	fresh kwok bin/kwok "${stages[@]/#/kwok-stages/}" && return 0
	cd "$root/tools/kwok"
	timed kwok go build -o "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok
	local dir
	dir=$(moddir sigs.k8s.io/kwok)
	rm -rf "$out/kwok-stages"
	mkdir -p "$out/kwok-stages"
	# The stages that make fake nodes Ready and fake pods Running/Succeeded.
	for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml \
		pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
		install -m 0644 "$dir/kustomize/stage/$f" "$out/kwok-stages/$(basename "$f")"
	done
	stamp kwok
	keep kwok bin/kwok "${stages[@]/#/kwok-stages/}"
}

# Argo's workflow-controller and `argo` (CLI and server) at the version
# tools/argo/go.mod pins: a test tool, never deployed. Both are built inside a
# writable copy of the module, with the module's own go.mod and go.sum (the
# versions Argo released with), because cmd/argo embeds ui/dist/app, which the
# module zip lacks and which cannot be built offline (the UI's package.json
# names a git URL): a placeholder page stands in for it.
build_argo() {
	fresh argo bin/workflow-controller bin/argo && return 0
	cd "$root/tools/argo"
	local dir version src
	version=$(go list -m -f '{{.Version}}' github.com/argoproj/argo-workflows/v4)
	dir=$(moddir github.com/argoproj/argo-workflows/v4)
	src="$out/src/argo-workflows-$version"
	rm -rf "$src"
	mkdir -p "$out/src"
	cp -r "$dir" "$src"
	chmod -R u+w "$src"
	mkdir -p "$src/ui/dist/app"
	printf '%s\n' '<!doctype html><title>Argo (test build)</title><p>The UI is not built in this test tool; use the API or the argo CLI.</p>' >"$src/ui/dist/app/index.html"
	cd "$src"
	local ldflags="-X github.com/argoproj/argo-workflows/v4.version=$version"
	timed workflow-controller go build -mod=mod -ldflags "$ldflags" -o "$bin/workflow-controller" ./cmd/workflow-controller
	timed argo go build -mod=mod -ldflags "$ldflags" -o "$bin/argo" ./cmd/argo
	stamp argo
	keep argo bin/workflow-controller bin/argo
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(pulumi kubeprovider kube kwok argo lint)
for g in "${groups[@]}"; do
	case "$g" in
	pulumi | kubeprovider | kube | kwok | argo | lint) "build_$g" ;;
	*)
		echo "tools/build.sh: unknown group \"$g\" (accepted: pulumi, kubeprovider, kube, kwok, argo, lint)" >&2
		exit 2
		;;
	esac
done
