//go:build linux

package cudart

import (
	"fmt"
	"runtime"
	"sync"
)

// device is the first CUDA GPU, its primary context and the libraries,
// opened once per process.
type device struct {
	drv           *driver
	rtc           *nvrtc
	dev           int32
	ctx           uintptr
	arch          int // compute capability ×10, e.g. 90
	name          string
	memory        uint64
	driverVersion int32
}

var (
	defaultOnce   sync.Once
	defaultDevice *device
	defaultErr    error
)

// openDefault opens the device with the standard library search, once.
func openDefault() (*device, error) {
	defaultOnce.Do(func() {
		defaultDevice, defaultErr = openDevice(driverNames, defaultNVRTCCandidates())
	})
	return defaultDevice, defaultErr
}

// openDevice loads the driver and NVRTC from the given candidates and
// makes the first GPU's primary context. Its errors are one line naming
// what is missing.
func openDevice(driverLibs, nvrtcLibs []string) (*device, error) {
	drv, err := loadDriver(driverLibs)
	if err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	if err := drv.check(drv.cuInit(0), "cuInit"); err != nil {
		return nil, fmt.Errorf("cuda backend: the NVIDIA driver found no usable GPU (%w)", err)
	}
	var count int32
	if err := drv.check(drv.cuDeviceGetCount(&count), "cuDeviceGetCount"); err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	if count == 0 {
		return nil, fmt.Errorf("cuda backend: the NVIDIA driver sees no GPU")
	}
	rtc, err := loadNVRTC(nvrtcLibs)
	if err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	d := &device{drv: drv, rtc: rtc}
	var major, minor int32
	const ccMajor, ccMinor = 75, 76 // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_*
	err = first(
		drv.check(drv.cuDeviceGet(&d.dev, 0), "cuDeviceGet"),
		drv.check(drv.cuDeviceGetAttribute(&major, ccMajor, d.dev), "compute capability"),
		drv.check(drv.cuDeviceGetAttribute(&minor, ccMinor, d.dev), "compute capability"),
		drv.check(drv.cuDeviceTotalMem(&d.memory, d.dev), "cuDeviceTotalMem"),
		drv.check(drv.cuDriverGetVersion(&d.driverVersion), "cuDriverGetVersion"),
	)
	if err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	d.arch = int(10*major + minor)
	if d.arch < 70 {
		return nil, fmt.Errorf("cuda backend: the GPU has compute capability %d.%d; the kernels need 7.0 or later", major, minor)
	}
	name := make([]byte, 256)
	if drv.cuDeviceGetName(&name[0], int32(len(name)), d.dev) == 0 {
		d.name = cString(&name[0])
	}
	if err := drv.check(drv.cuDevicePrimaryCtxRetain(&d.ctx, d.dev), "cuDevicePrimaryCtxRetain"); err != nil {
		return nil, fmt.Errorf("cuda backend: %w", err)
	}
	return d, nil
}

// enter pins the calling goroutine to its OS thread and makes the
// device's context current there: CUDA contexts are per thread. The
// caller defers the returned function.
func (d *device) enter() (leave func(), err error) {
	runtime.LockOSThread()
	if err := d.drv.check(d.drv.cuCtxSetCurrent(d.ctx), "cuCtxSetCurrent"); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("cudart: %w", err)
	}
	return runtime.UnlockOSThread, nil
}

// Available reports whether the CUDA runtime can run here: the driver
// loads, sees a GPU of compute capability 7.0 or later, and NVRTC loads.
func Available() bool {
	_, err := openDefault()
	return err == nil
}

func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
