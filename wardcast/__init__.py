"""wardcast: broadcast scheduling for ward loudspeaker stations."""
