"""The yearly bilan pédagogique et financier (cerfa 10443). See docs/bpf.md."""
