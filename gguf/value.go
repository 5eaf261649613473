package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is the type of a metadata value, numbered as in the GGUF spec.
type ValueType uint32

// The GGUF metadata value types.
const (
	Uint8   ValueType = 0
	Int8    ValueType = 1
	Uint16  ValueType = 2
	Int16   ValueType = 3
	Uint32  ValueType = 4
	Int32   ValueType = 5
	Float32 ValueType = 6
	Bool    ValueType = 7
	String  ValueType = 8
	Array   ValueType = 9
	Uint64  ValueType = 10
	Int64   ValueType = 11
	Float64 ValueType = 12
)

var typeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
	"float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the spec's name for the type, or "type(N)" for an unknown id.
func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Valid reports whether t is one of the thirteen GGUF value types.
func (t ValueType) Valid() bool { return t <= Float64 }

// size is the encoded size of a scalar of type t; strings report their
// minimum (the length prefix) and arrays their minimum (type and count).
func (t ValueType) size() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64, String:
		return 8
	case Array:
		return 12
	}
	return 0
}

func (t ValueType) isInteger() bool {
	switch t {
	case Uint8, Int8, Uint16, Int16, Uint32, Int32, Uint64, Int64:
		return true
	}
	return false
}

func (t ValueType) isSigned() bool { return t == Int8 || t == Int16 || t == Int32 || t == Int64 }

// Value is one typed metadata value. Scalars keep their exact bits, so a
// value read from a file is written back unchanged; arrays keep their
// element type. The zero Value is uint8 0.
type Value struct {
	typ  ValueType
	elem ValueType // element type of an array
	bits uint64    // scalar numbers and bools, zero-extended raw bits
	str  string    // a String value
	arr  any       // an array: a []E for the Go type E of elem
}

// Type returns the value's type.
func (v Value) Type() ValueType { return v.typ }

// ElemType returns the element type of an array (0 for scalars).
func (v Value) ElemType() ValueType { return v.elem }

// Len returns the number of elements of an array, or 0 for a scalar.
func (v Value) Len() int {
	switch a := v.arr.(type) {
	case []uint8:
		return len(a)
	case []int8:
		return len(a)
	case []uint16:
		return len(a)
	case []int16:
		return len(a)
	case []uint32:
		return len(a)
	case []int32:
		return len(a)
	case []float32:
		return len(a)
	case []bool:
		return len(a)
	case []string:
		return len(a)
	case []uint64:
		return len(a)
	case []int64:
		return len(a)
	case []float64:
		return len(a)
	}
	return 0
}

// Scalar constructors.

func Uint8Value(x uint8) Value     { return Value{typ: Uint8, bits: uint64(x)} }
func Int8Value(x int8) Value       { return Value{typ: Int8, bits: uint64(uint8(x))} }
func Uint16Value(x uint16) Value   { return Value{typ: Uint16, bits: uint64(x)} }
func Int16Value(x int16) Value     { return Value{typ: Int16, bits: uint64(uint16(x))} }
func Uint32Value(x uint32) Value   { return Value{typ: Uint32, bits: uint64(x)} }
func Int32Value(x int32) Value     { return Value{typ: Int32, bits: uint64(uint32(x))} }
func Uint64Value(x uint64) Value   { return Value{typ: Uint64, bits: x} }
func Int64Value(x int64) Value     { return Value{typ: Int64, bits: uint64(x)} }
func Float32Value(x float32) Value { return Value{typ: Float32, bits: uint64(math.Float32bits(x))} }
func Float64Value(x float64) Value { return Value{typ: Float64, bits: math.Float64bits(x)} }
func StringValue(s string) Value   { return Value{typ: String, str: s} }

func BoolValue(b bool) Value {
	if b {
		return Value{typ: Bool, bits: 1}
	}
	return Value{typ: Bool}
}

// Elem lists the Go types that map to GGUF array element types.
type Elem interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | bool | string | uint64 | int64 | float64
}

// ArrayValue returns an array of xs; the element type follows from E. The
// slice is copied.
func ArrayValue[E Elem](xs []E) Value {
	c := append([]E{}, xs...)
	var elem ValueType
	switch any(c).(type) {
	case []uint8:
		elem = Uint8
	case []int8:
		elem = Int8
	case []uint16:
		elem = Uint16
	case []int16:
		elem = Int16
	case []uint32:
		elem = Uint32
	case []int32:
		elem = Int32
	case []float32:
		elem = Float32
	case []bool:
		elem = Bool
	case []string:
		elem = String
	case []uint64:
		elem = Uint64
	case []int64:
		elem = Int64
	case []float64:
		elem = Float64
	}
	return Value{typ: Array, elem: elem, arr: c}
}

// StringsValue returns an array of strings.
func StringsValue(s []string) Value { return ArrayValue(s) }

// Float32sValue returns an array of float32.
func Float32sValue(x []float32) Value { return ArrayValue(x) }

// Int32sValue returns an array of int32.
func Int32sValue(x []int32) Value { return ArrayValue(x) }

// describe names the value's type for error messages.
func (v Value) describe() string {
	if v.typ == Array {
		return "array of " + v.elem.String()
	}
	return v.typ.String()
}

// AsString returns a String value.
func (v Value) AsString() (string, error) {
	if v.typ != String {
		return "", fmt.Errorf("is %s, want a string", v.describe())
	}
	return v.str, nil
}

// AsInt returns any integer value as an int64.
func (v Value) AsInt() (int64, error) {
	if !v.typ.isInteger() {
		return 0, fmt.Errorf("is %s, want an integer", v.describe())
	}
	if v.typ == Uint64 && v.bits > math.MaxInt64 {
		return 0, fmt.Errorf("is uint64 %d, too large for int64", v.bits)
	}
	return v.signed(), nil
}

// AsUint returns any unsigned or non-negative signed integer value.
func (v Value) AsUint() (uint64, error) {
	if !v.typ.isInteger() {
		return 0, fmt.Errorf("is %s, want an integer", v.describe())
	}
	if v.typ.isSigned() {
		if x := v.signed(); x < 0 {
			return 0, fmt.Errorf("is %s %d, want a non-negative integer", v.typ, x)
		}
	}
	return v.bits, nil
}

// AsFloat returns a float32 or float64 value, or an integer converted.
func (v Value) AsFloat() (float64, error) {
	switch {
	case v.typ == Float32:
		return float64(math.Float32frombits(uint32(v.bits))), nil
	case v.typ == Float64:
		return math.Float64frombits(v.bits), nil
	case v.typ == Uint64:
		return float64(v.bits), nil
	case v.typ.isInteger():
		return float64(v.signed()), nil
	}
	return 0, fmt.Errorf("is %s, want a number", v.describe())
}

// AsBool returns a Bool value.
func (v Value) AsBool() (bool, error) {
	if v.typ != Bool {
		return false, fmt.Errorf("is %s, want a bool", v.describe())
	}
	return v.bits != 0, nil
}

// AsStrings returns a copy of an array of strings.
func (v Value) AsStrings() ([]string, error) { return arrayOf[string](v, String) }

// AsFloat32s returns a copy of an array of float32.
func (v Value) AsFloat32s() ([]float32, error) { return arrayOf[float32](v, Float32) }

// AsInt32s returns a copy of an array of int32.
func (v Value) AsInt32s() ([]int32, error) { return arrayOf[int32](v, Int32) }

func arrayOf[E Elem](v Value, elem ValueType) ([]E, error) {
	a, ok := v.arr.([]E)
	if v.typ != Array || !ok {
		return nil, fmt.Errorf("is %s, want array of %s", v.describe(), elem)
	}
	return append([]E{}, a...), nil
}

// signed sign-extends the bits of an integer value by its width.
func (v Value) signed() int64 {
	switch v.typ {
	case Int8:
		return int64(int8(v.bits))
	case Int16:
		return int64(int16(v.bits))
	case Int32:
		return int64(int32(v.bits))
	}
	return int64(v.bits)
}

// maxShown is how many array elements String renders before "…".
const maxShown = 6

// String renders the value readably: numbers, quoted strings, and arrays
// as "[N×type] [a, b, …]" showing at most the first few elements.
func (v Value) String() string {
	switch v.typ {
	case Float32:
		return strconv.FormatFloat(float64(math.Float32frombits(uint32(v.bits))), 'g', -1, 32)
	case Float64:
		return strconv.FormatFloat(math.Float64frombits(v.bits), 'g', -1, 64)
	case Bool:
		return strconv.FormatBool(v.bits != 0)
	case String:
		return strconv.Quote(v.str)
	case Uint8, Uint16, Uint32, Uint64:
		return strconv.FormatUint(v.bits, 10)
	case Int8, Int16, Int32, Int64:
		return strconv.FormatInt(v.signed(), 10)
	case Array:
		n := v.Len()
		var b strings.Builder
		fmt.Fprintf(&b, "[%d×%s] [", n, v.elem)
		for i := 0; i < n && i < maxShown; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.index(i).String())
		}
		if n > maxShown {
			b.WriteString(", …")
		}
		b.WriteString("]")
		return b.String()
	}
	return v.typ.String()
}

// index returns element i of an array as a scalar Value.
func (v Value) index(i int) Value {
	switch a := v.arr.(type) {
	case []uint8:
		return Uint8Value(a[i])
	case []int8:
		return Int8Value(a[i])
	case []uint16:
		return Uint16Value(a[i])
	case []int16:
		return Int16Value(a[i])
	case []uint32:
		return Uint32Value(a[i])
	case []int32:
		return Int32Value(a[i])
	case []float32:
		return Float32Value(a[i])
	case []bool:
		return BoolValue(a[i])
	case []string:
		return StringValue(a[i])
	case []uint64:
		return Uint64Value(a[i])
	case []int64:
		return Int64Value(a[i])
	case []float64:
		return Float64Value(a[i])
	}
	return Value{}
}
