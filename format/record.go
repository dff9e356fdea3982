package format

// Record is one decoded record of any kind. It is a flat value rather than
// one type per kind so that the hot paths (the converter emitting millions
// of records, the reader decoding them) move no interfaces and allocate
// nothing but the string and frame slices; which members are meaningful is
// given by Code and the spec table (see the trailing comments below).
type Record struct {
	Code Code

	TS        uint32   // ts_us: microseconds since the start of the file's trace
	Worker    uint8    // worker (PollStart, PollEnd, WorkerPark, WorkerUnpark) or target_worker (WakeEvent)
	LocalQ    uint8    // local_q
	GlobalQ   uint8    // global_q
	Task      uint32   // task_id, or woken_task_id for WakeEvent
	Waker     uint32   // waker_task_id (WakeEvent)
	SpawnLoc  uint16   // spawn_loc_id (PollStart, TaskSpawn)
	CPU       uint32   // cpu_us (WorkerPark, WorkerUnpark)
	SchedWait uint32   // sched_wait_us (WorkerUnpark)
	ID        uint16   // id (SpawnLocationDef, FrameDef)
	Str       string   // location (SpawnLocationDef) or frame (FrameDef)
	Duration  uint32   // duration_us (TaskPending)
	Frames    []uint16 // frame_ids (TaskPending), innermost first
}

// Size returns the encoded size of r in bytes, including its code byte, as
// the writer would encode it (strings and frame lists past the format's
// limits are counted as cut). It is 0 for an unknown code.
func (r *Record) Size() int {
	if !r.Code.Valid() {
		return 0 // not encodable
	}
	s := specs[r.Code].Size
	switch r.Code {
	case CodeSpawnLocationDef, CodeFrameDef:
		s += len(clipString(r.Str))
	case CodeTaskPending:
		s += 2 * min(len(r.Frames), MaxFrames)
	}
	return s
}

func (r *Record) u(slot Slot) uint64 {
	switch slot {
	case SlotTS:
		return uint64(r.TS)
	case SlotWorker:
		return uint64(r.Worker)
	case SlotLocalQ:
		return uint64(r.LocalQ)
	case SlotGlobalQ:
		return uint64(r.GlobalQ)
	case SlotTask:
		return uint64(r.Task)
	case SlotWaker:
		return uint64(r.Waker)
	case SlotSpawnLoc:
		return uint64(r.SpawnLoc)
	case SlotCPU:
		return uint64(r.CPU)
	case SlotSchedWait:
		return uint64(r.SchedWait)
	case SlotID:
		return uint64(r.ID)
	case SlotDuration:
		return uint64(r.Duration)
	}
	panic("format: not an integer slot")
}

// setU stores v, which the caller has range-checked for the field's kind.
func (r *Record) setU(slot Slot, v uint64) {
	switch slot {
	case SlotTS:
		r.TS = uint32(v)
	case SlotWorker:
		r.Worker = uint8(v)
	case SlotLocalQ:
		r.LocalQ = uint8(v)
	case SlotGlobalQ:
		r.GlobalQ = uint8(v)
	case SlotTask:
		r.Task = uint32(v)
	case SlotWaker:
		r.Waker = uint32(v)
	case SlotSpawnLoc:
		r.SpawnLoc = uint16(v)
	case SlotCPU:
		r.CPU = uint32(v)
	case SlotSchedWait:
		r.SchedWait = uint32(v)
	case SlotID:
		r.ID = uint16(v)
	case SlotDuration:
		r.Duration = uint32(v)
	default:
		panic("format: not an integer slot")
	}
}
