package tracing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestContainerIDFromMountinfo(t *testing.T) {
	const id = "0b8a5a2a1ef1d8a4c2c0f5b5f3b8f0a6d2e4c6a8b0d2f4e6a8c0e2f4a6b8d0e2"
	tests := []struct{ name, mountinfo, want string }{
		{"docker cgroup v2", "1337 1320 254:1 /var/lib/docker/containers/" + id + "/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n", id},
		{"cri-o", "512 500 0:52 /containers/storage/overlay-containers/" + id + "/userdata/resolv.conf /etc/resolv.conf rw - tmpfs tmpfs rw\n", id},
		{"not in a container", "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n", ""},
		{"short id", "1 1 0:1 /var/lib/docker/containers/abc123/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mountinfo")
			if err := os.WriteFile(path, []byte(strings.Repeat("20 1 0:5 / /dev rw - devtmpfs udev rw\n", 3)+tc.mountinfo), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := containerIDFromMountinfo(path); got != tc.want {
				t.Errorf("container id = %q, want %q", got, tc.want)
			}
		})
	}
	if got := containerIDFromMountinfo(filepath.Join(t.TempDir(), "absent")); got != "" {
		t.Errorf("absent file: %q", got)
	}
}
