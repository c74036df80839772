# Shape guards. A CD repo holds manifests of every quality, and one
# malformed field (`containers: "x"`) must not abort evaluation of the whole
# bundle: policies iterate `list(...)` and read `obj(...)`, so a wrong shape
# reads as empty and the schema/inputs layer reports it instead.
package cdgate.lib.values

import rego.v1

# list(v) is v when it is an array, else [].
list(v) := v if {
	is_array(v)
} else := []

# obj(v) is v when it is an object, else {}.
obj(v) := v if {
	is_object(v)
} else := {}
