package composecli

import "os"

var interruptSignal = os.Interrupt
